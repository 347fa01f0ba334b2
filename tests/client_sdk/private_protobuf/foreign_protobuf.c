/* Stands in for another protobuf version linked into the app: the app's own
 * definitions of the protobuf-lite entry points the SDK calls, with the same
 * (mangled) names and incompatible behaviour, as protobuf 4.x built into an
 * app would have. The dynamic linker binds a shared library's undefined
 * google::protobuf:: references to the first definition in the process, the
 * app's, so an SDK that takes its protobuf from outside runs this code; one
 * with its own runtime bound inside never does.
 *
 * Each one says which function was called and ends the process with 86. */
#include <stdio.h>
#include <unistd.h>

static void foreign(const char* name) {
  fprintf(stderr, "foreign protobuf runtime called: %s\n", name);
  fflush(stderr);
  _exit(86);
}

/* google::protobuf::MessageLite::SerializeAsString() const */
void _ZNK6google8protobuf11MessageLite17SerializeAsStringB5cxx11Ev(void) {
  foreign("MessageLite::SerializeAsString");
}
/* google::protobuf::MessageLite::SerializeToString(std::string*) const */
void _ZNK6google8protobuf11MessageLite17SerializeToStringEPNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE(
    void) {
  foreign("MessageLite::SerializeToString");
}
/* google::protobuf::MessageLite::ParseFromString(const std::string&) */
void _ZN6google8protobuf11MessageLite15ParseFromStringERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE(
    void) {
  foreign("MessageLite::ParseFromString");
}
/* google::protobuf::MessageLite::ParseFromArray(const void*, int) */
void _ZN6google8protobuf11MessageLite14ParseFromArrayEPKvi(void) {
  foreign("MessageLite::ParseFromArray");
}
