// The published-model download, as both sides spell it.
//
//   GET /v1/published_model?population=NAME   signed by an enrolled client
//   200: the model file (fl.proto.ModelFile bytes) the coordinator publishes
//        for NAME, with its registry id in the X-FL-Model-Version header
//        (the id is assigned after the file is written, so it is not inside);
//   404: the coordinator does not run NAME, or has published nothing for it.
//
// A population rather than a model name: a device knows the population it
// joins, and the coordinator decides which model serves it.
//
// Thread-safety: constants only.
#pragma once

#include <string_view>

namespace fl::protocol {

inline constexpr std::string_view kPublishedModelPath = "/v1/published_model";
inline constexpr std::string_view kPublishedModelPopulationParam = "population";
inline constexpr std::string_view kModelVersionHeader = "X-FL-Model-Version";

}  // namespace fl::protocol
