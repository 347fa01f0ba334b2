#include "coordinator/http/router.h"

#include <gtest/gtest.h>

namespace fl::http {
namespace {

Handler answer(std::string text) {
  return [text](const Request&) { return text_response(text); };
}

TEST(Router, CapturesPathParameters) {
  Router router;
  ASSERT_TRUE(router.add("POST", "/v1/rounds/{round}/secagg", answer("secagg")).ok());
  const Router::Match match = router.match("POST", "/v1/rounds/17/secagg");
  ASSERT_EQ(match.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(match.route->pattern, "/v1/rounds/{round}/secagg");
  EXPECT_EQ(match.params.at("round"), "17");
}

TEST(Router, MatchesTensorFlowServingVerbSuffix) {
  Router router;
  ASSERT_TRUE(router.add("POST", "/v1/models/{name}:predict", answer("predict")).ok());
  const Router::Match match = router.match("POST", "/v1/models/mnist:predict");
  ASSERT_EQ(match.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(match.params.at("name"), "mnist");
  EXPECT_EQ(router.match("POST", "/v1/models/mnist").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router.match("POST", "/v1/models/:predict").kind, Router::Match::Kind::kNotFound);
}

TEST(Router, LiteralSegmentBeatsParameterWhateverTheOrder) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/rounds/{round}", answer("param")).ok());
  ASSERT_TRUE(router.add("GET", "/v1/rounds/current", answer("literal")).ok());
  EXPECT_EQ(router.match("GET", "/v1/rounds/current").route->pattern, "/v1/rounds/current");
  EXPECT_EQ(router.match("GET", "/v1/rounds/9").route->pattern, "/v1/rounds/{round}");
}

TEST(Router, DistinguishesUnknownPathFromWrongMethod) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/model", answer("get")).ok());
  ASSERT_TRUE(router.add("PUT", "/v1/model", answer("put")).ok());
  EXPECT_EQ(router.match("GET", "/v1/nothing").kind, Router::Match::Kind::kNotFound);
  const Router::Match wrong = router.match("DELETE", "/v1/model");
  EXPECT_EQ(wrong.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(wrong.allowed_methods, (std::vector<std::string>{"GET", "PUT"}));
}

TEST(Router, ParametersNeverMatchEmptySegmentsOrExtraSegments) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/clients/{id}", answer("client")).ok());
  EXPECT_EQ(router.match("GET", "/v1/clients/").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router.match("GET", "/v1/clients/1/extra").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router.match("GET", "v1/clients/1").kind, Router::Match::Kind::kNotFound);
}

TEST(Router, PercentDecodesParameters) {
  Router router;
  ASSERT_TRUE(router.add("GET", "/v1/models/{name}", answer("model")).ok());
  EXPECT_EQ(router.match("GET", "/v1/models/a%20b").params.at("name"), "a b");
}

TEST(Router, RejectsBadRegistrations) {
  Router router;
  EXPECT_EQ(router.add("get", "/x", answer("")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add("GET", "x", answer("")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add("GET", "/x/{}", answer("")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add("GET", "/x/{a", answer("")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add("GET", "/x/a{b}", answer("")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(router.add("GET", "/x", nullptr).code(), ErrorCode::kInvalidArgument);
  RouteOptions too_big;
  too_big.max_body_bytes = kLargestMaxBodyBytes + 1;
  EXPECT_EQ(router.add("POST", "/x", answer(""), too_big).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(router.add("GET", "/x", answer("")).ok());
  EXPECT_EQ(router.add("GET", "/x", answer("")).code(), ErrorCode::kAlreadyExists);
}

TEST(Request, LooksUpHeadersCaseInsensitivelyAndDecodesQuery) {
  Request request;
  request.headers.add("Content-Type", "application/x-protobuf");
  request.query = "name=a%2Fb&flag&space=x+y";
  EXPECT_EQ(request.headers.get("content-type"), "application/x-protobuf");
  EXPECT_FALSE(request.headers.get("X-Missing").has_value());
  EXPECT_EQ(request.query_param("name"), "a/b");
  EXPECT_EQ(request.query_param("flag"), "");
  EXPECT_EQ(request.query_param("space"), "x y");
  EXPECT_FALSE(request.query_param("other").has_value());
}

TEST(Response, JsonErrorEscapesTheMessage) {
  const Response response = json_error(400, "bad \"input\"\n");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, "{\"error\": \"bad \\\"input\\\"\\n\"}");
  EXPECT_EQ(json_error(NotFound("no such round")).status, 404);
  EXPECT_EQ(json_error(Unavailable("busy")).status, 503);
}

}  // namespace
}  // namespace fl::http
