#include <gtest/gtest.h>

#include "client_sdk/transport/http_client.h"
#include "client_sdk/transport/send_with_retry.h"
#include "coordinator/http/http_server.h"
#include "tests/coordinator/http/raw_connection.h"
#include "tests/coordinator/http/test_certificates.h"

namespace fl::http {
namespace {

using namespace std::chrono_literals;
using testing::CertificateFiles;
using testing::TempDir;
using transport::HttpClient;
using transport::HttpClientOptions;

const std::string kBinary("\x08\x96\x01\x00\xfe", 5);

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_cert_ = testing::write_self_signed_certificate(dir_.path(), "server");
    other_cert_ = testing::write_self_signed_certificate(dir_.path(), "other");
    Router router;
    ASSERT_TRUE(
        router.add("GET", "/v1/model", [](const Request&) { return protobuf_response(kBinary); })
            .ok());
    ASSERT_TRUE(router
                    .add("POST", "/v1/echo",
                         [](const Request& request) { return protobuf_response(request.body); })
                    .ok());
    HttpServerOptions options;
    options.tls = TlsOptions{.certificate_chain_file = server_cert_.certificate_pem,
                             .private_key_file = server_cert_.private_key_pem};
    server_ = std::make_unique<HttpServer>(std::move(router), options);
    const Status status = server_->start();
    ASSERT_TRUE(status.ok()) << status.to_string();
  }

  HttpClientOptions client_options(const std::string& ca_file) const {
    HttpClientOptions options;
    options.port = server_->port();
    options.tls = true;
    options.ca_file = ca_file;
    options.connect_timeout = 2s;
    options.read_timeout = 2s;
    return options;
  }

  TempDir dir_;
  CertificateFiles server_cert_;
  CertificateFiles other_cert_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsTest, RoundTripsBinaryBodiesVerifiedAgainstTheCaFile) {
  Result<HttpClient> client = HttpClient::create(client_options(server_cert_.certificate_pem));
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  Result<transport::HttpResponse> got = client->send("GET", "/v1/model");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, kBinary);
  const std::string large(200'000, '\x7f');
  Result<transport::HttpResponse> echoed =
      client->send("POST", "/v1/echo", large, "application/x-protobuf");
  ASSERT_TRUE(echoed.ok()) << echoed.status().to_string();
  EXPECT_EQ(echoed->body, large);
  EXPECT_EQ(client->connections_opened(), 1u);
}

TEST_F(TlsTest, VerifiesTheHostNameToo) {
  HttpClientOptions options = client_options(server_cert_.certificate_pem);
  options.server_name = "localhost";  // in the certificate's SAN
  ASSERT_EQ(HttpClient::create(options)->send("GET", "/v1/model")->status, 200);
  options.server_name = "coordinator.example";  // not in it
  Result<transport::HttpResponse> wrong_name =
      HttpClient::create(options)->send("GET", "/v1/model");
  EXPECT_EQ(wrong_name.status().code(), ErrorCode::kPermissionDenied);
}

TEST_F(TlsTest, AClientTrustingAnotherCaFailsCleanlyAndIsNotRetried) {
  Result<HttpClient> client = HttpClient::create(client_options(other_cert_.certificate_pem));
  ASSERT_TRUE(client.ok());
  std::vector<std::chrono::milliseconds> sleeps;
  crypto::SeededRng rng(1);
  Result<transport::HttpResponse> result = transport::send_with_retry(
      *client, {"GET", "/v1/model", "", "", {}}, transport::RetryPolicy{},
      [&](std::chrono::milliseconds d) { sleeps.push_back(d); }, rng);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(result.status().message().find("certificate verify failed"), std::string::npos)
      << result.status().message();
  EXPECT_TRUE(sleeps.empty());

  // The server is unharmed.
  EXPECT_EQ(HttpClient::create(client_options(server_cert_.certificate_pem))
                ->send("GET", "/v1/model")
                ->status,
            200);
}

TEST_F(TlsTest, InsecureSkipVerifyConnectsWithoutTrust) {
  HttpClientOptions options = client_options(other_cert_.certificate_pem);
  options.insecure_skip_verify = true;
  EXPECT_EQ(HttpClient::create(options)->send("GET", "/v1/model")->status, 200);
}

TEST_F(TlsTest, PlainHttpToTheTlsPortFailsWithoutHarm) {
  testing::RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all("GET /v1/model HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_TRUE(raw.wait_for_close(2s));
  EXPECT_EQ(HttpClient::create(client_options(server_cert_.certificate_pem))
                ->send("GET", "/v1/model")
                ->status,
            200);
}

// Mutual TLS: the server accepts only clients whose certificate chains to
// its client CA file. Each test certificate is self-signed, so it is its own
// CA: "device" is trusted by the server, "intruder" is not.
class MutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_cert_ = testing::write_self_signed_certificate(dir_.path(), "server");
    device_cert_ = testing::write_self_signed_certificate(dir_.path(), "device");
    intruder_cert_ = testing::write_self_signed_certificate(dir_.path(), "intruder");
    Router router;
    ASSERT_TRUE(
        router.add("GET", "/v1/model", [](const Request&) { return protobuf_response(kBinary); })
            .ok());
    HttpServerOptions options;
    options.tls = TlsOptions{server_cert_.certificate_pem, server_cert_.private_key_pem,
                             device_cert_.certificate_pem};
    server_ = std::make_unique<HttpServer>(std::move(router), options);
    const Status status = server_->start();
    ASSERT_TRUE(status.ok()) << status.to_string();
  }

  // A client that trusts the server, presenting `cert` (none when null).
  Result<transport::HttpResponse> get_presenting(const CertificateFiles* cert) const {
    HttpClientOptions options;
    options.port = server_->port();
    options.tls = true;
    options.ca_file = server_cert_.certificate_pem;
    options.connect_timeout = 2s;
    options.read_timeout = 2s;
    if (cert != nullptr) {
      options.client_certificate_file = cert->certificate_pem;
      options.client_key_file = cert->private_key_pem;
    }
    Result<HttpClient> client = HttpClient::create(options);
    if (!client.ok()) return client.status();
    return client->send("GET", "/v1/model");
  }

  TempDir dir_;
  CertificateFiles server_cert_;
  CertificateFiles device_cert_;
  CertificateFiles intruder_cert_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(MutualTlsTest, AClientWithoutACertificateIsRefusedAtTheHandshake) {
  Result<transport::HttpResponse> result = get_presenting(nullptr);
  EXPECT_FALSE(result.ok()) << "HTTP " << result->status;
}

TEST_F(MutualTlsTest, ACertificateFromAnotherCaIsRefused) {
  Result<transport::HttpResponse> result = get_presenting(&intruder_cert_);
  EXPECT_FALSE(result.ok()) << "HTTP " << result->status;
}

TEST_F(MutualTlsTest, ACertificateFromTheClientCaIsServedAndRefusalsDoNoHarm) {
  ASSERT_FALSE(get_presenting(nullptr).ok());
  ASSERT_FALSE(get_presenting(&intruder_cert_).ok());
  Result<transport::HttpResponse> result = get_presenting(&device_cert_);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, kBinary);
}

TEST_F(TlsTest, AServerWithoutAClientCaAcceptsClientsWithoutCertificates) {
  // The default: mutual TLS is opt-in, and a presented certificate is ignored.
  EXPECT_EQ(HttpClient::create(client_options(server_cert_.certificate_pem))
                ->send("GET", "/v1/model")
                ->status,
            200);
  HttpClientOptions with_cert = client_options(server_cert_.certificate_pem);
  with_cert.client_certificate_file = other_cert_.certificate_pem;
  with_cert.client_key_file = other_cert_.private_key_pem;
  EXPECT_EQ(HttpClient::create(with_cert)->send("GET", "/v1/model")->status, 200);
}

TEST(TlsSetup, ReportsUnreadableCertificateOrKeyAsInvalidArgument) {
  TempDir dir;
  const CertificateFiles cert = testing::write_self_signed_certificate(dir.path(), "c");
  const CertificateFiles other = testing::write_self_signed_certificate(dir.path(), "o");
  HttpServerOptions missing;
  missing.tls = TlsOptions{.certificate_chain_file = dir.path() + "/absent.crt",
                           .private_key_file = cert.private_key_pem};
  EXPECT_EQ(HttpServer(Router{}, missing).start().code(), ErrorCode::kInvalidArgument);
  HttpServerOptions mismatched;
  mismatched.tls = TlsOptions{.certificate_chain_file = cert.certificate_pem,
                              .private_key_file = other.private_key_pem};
  EXPECT_EQ(HttpServer(Router{}, mismatched).start().code(), ErrorCode::kInvalidArgument);

  HttpServerOptions no_client_ca;
  no_client_ca.tls =
      TlsOptions{cert.certificate_pem, cert.private_key_pem, dir.path() + "/absent-ca.pem"};
  EXPECT_EQ(HttpServer(Router{}, no_client_ca).start().code(), ErrorCode::kInvalidArgument);

  HttpClientOptions client;
  client.port = 1;
  client.tls = true;
  client.ca_file = dir.path() + "/absent.pem";
  EXPECT_EQ(HttpClient::create(client).status().code(), ErrorCode::kInvalidArgument);

  HttpClientOptions client_cert;
  client_cert.port = 1;
  client_cert.tls = true;
  client_cert.ca_file = cert.certificate_pem;
  client_cert.client_certificate_file = cert.certificate_pem;
  EXPECT_EQ(HttpClient::create(client_cert).status().code(), ErrorCode::kInvalidArgument)
      << "a certificate without its key";
  client_cert.client_key_file = other.private_key_pem;
  EXPECT_EQ(HttpClient::create(client_cert).status().code(), ErrorCode::kInvalidArgument)
      << "a key that does not match";
  client_cert.client_key_file = cert.private_key_pem;
  EXPECT_TRUE(HttpClient::create(client_cert).ok());
  client_cert.tls = false;
  EXPECT_EQ(HttpClient::create(client_cert).status().code(), ErrorCode::kInvalidArgument)
      << "a certificate without TLS";
}

}  // namespace
}  // namespace fl::http
