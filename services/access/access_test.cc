// The access module on its own, without any transport: the role x method
// matrix (the same expectation, tests/testing/access_matrix.h, that
// security_test checks through gRPC), authentication and the rule for
// callers when authentication is off.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/access/authenticator.h"
#include "services/access/caller.h"
#include "services/access/methods.h"
#include "services/access/policy.h"
#include "services/access/principals.h"
#include "services/access/role.h"
#include "tests/testing/access_matrix.h"

namespace aesignal::access {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(MethodsTest, EveryV1MethodIsKnownOnce) {
  std::set<std::string> known;
  for (const Method& method : kAllMethods) {
    EXPECT_TRUE(known.insert(method.FullName()).second) << method.FullName();
  }
  const std::vector<std::string> in_proto = testing::AllV1Methods();
  EXPECT_EQ(std::set<std::string>(in_proto.begin(), in_proto.end()), known)
      << "a new RPC needs a constant in methods.h and a row in policy.cc";
}

TEST(PolicyTest, EveryRoleTimesEveryMethodCalledDirectly) {
  for (Role role : kAllRoles) {
    const std::string role_name(RoleName(role));
    const Caller caller{.principal = "p", .role = role};
    for (const Method& method : kAllMethods) {
      const bool expected =
          testing::ExpectedAllowed(role_name, method.FullName());
      SCOPED_TRACE(absl::StrCat(role_name, " -> ", method.FullName()));
      EXPECT_EQ(RoleAllows(role, method), expected);
      const absl::Status status = Authorize(caller, method);
      if (expected) {
        EXPECT_TRUE(status.ok()) << status;
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
        EXPECT_EQ(status.message(), absl::StrCat("principal 'p' may not call ",
                                                 method.FullName()));
      }
    }
  }
}

TEST(PolicyTest, UnknownMethodIsAdminOnly) {
  const Method unknown{"TrialService", "DeleteEverything"};
  EXPECT_FALSE(RoleAllows(Role::kSafetyOfficer, unknown));
  EXPECT_FALSE(RoleAllows(Role::kSite, unknown));
  EXPECT_FALSE(RoleAllows(Role::kDsmbMember, unknown));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, unknown));
}

TEST(RoleTest, NamesRoundTrip) {
  for (Role role : kAllRoles) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(ParseRole("root"), std::nullopt);
}

Authenticator TestAuthenticator() {
  return Authenticator({
      {.name = "ada",
       .role = Role::kAdmin,
       .token_sha256 = HashToken("s1", "t-ada")},
      {.name = "site01",
       .role = Role::kSite,
       .sites = {"01"},
       .token_sha256 = HashToken("s2", "t-site")},
      {.name = "olga",
       .role = Role::kSafetyOfficer,
       .cert_common_name = "olga-cn"},
  });
}

TEST(AuthenticatorTest, ByTokenOrCertificate) {
  const Authenticator auth = TestAuthenticator();
  auto ada = auth.Authenticate({.authorization = "Bearer t-ada"});
  ASSERT_TRUE(ada.ok()) << ada.status();
  EXPECT_EQ(ada->principal, "ada");
  EXPECT_EQ(ada->role, Role::kAdmin);
  EXPECT_TRUE(ada->sites.empty());
  auto site = auth.Authenticate({.authorization = "Bearer t-site"});
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_THAT(site->sites, ElementsAre("01"));
  auto olga = auth.Authenticate({.cert_common_names = {"olga-cn"}});
  ASSERT_TRUE(olga.ok()) << olga.status();
  EXPECT_EQ(olga->role, Role::kSafetyOfficer);
}

TEST(AuthenticatorTest, RefusesWhatIsNotAPrincipal) {
  const Authenticator auth = TestAuthenticator();
  for (const Credentials& bad : std::vector<Credentials>{
           {},
           {.authorization = "t-ada"},  // no Bearer scheme
           {.authorization = "Bearer t-adax"},
           {.authorization = "Bearer "},
           {.cert_common_names = {"mallory"}},
       }) {
    auto caller = auth.Authenticate(bad);
    EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated)
        << bad.authorization;
  }
  EXPECT_EQ(auth.CallerNamed("nobody"), std::nullopt);
  EXPECT_EQ(auth.CallerNamed("site01")->sites, std::vector<std::string>{"01"});
}

TEST(AuthenticatorTest, SaysWhyCredentialsWereRefused) {
  const Authenticator auth = TestAuthenticator();
  const std::pair<Credentials, std::string> cases[] = {
      {{}, "no bearer token or client certificate"},
      {{.authorization = "t-ada"}, "is not \"Bearer <token>\""},
      {{.authorization = "Bearer t-adax"}, "unknown bearer token"},
      {{.cert_common_names = {"mallory\n"}},
       "common name 'mallory\\n' is not a configured principal"},
  };
  for (const auto& [credentials, reason] : cases) {
    auto caller = auth.Authenticate(credentials);
    EXPECT_THAT(caller.status().message(), HasSubstr(reason));
    EXPECT_THAT(caller.status().message(), Not(HasSubstr("t-ada")));
  }
  EXPECT_EQ(auth.failures(), 4);
}

// One admin (token "t"); refusals logged into `lines` by the clock `now`,
// at most once a minute.
Authenticator AdaLoggingTo(std::vector<std::string>& lines, absl::Time& now) {
  return Authenticator(
      {{.name = "ada",
        .role = Role::kAdmin,
        .token_sha256 = HashToken("s", "t")}},
      {.log = [&lines](const std::string& line) { lines.push_back(line); },
       .now = [&now] { return now; },
       .interval = absl::Seconds(60)});
}

TEST(AuthenticatorTest, LogsRefusalsAtMostOncePerInterval) {
  std::vector<std::string> lines;
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const Authenticator auth = AdaLoggingTo(lines, now);
  ASSERT_TRUE(auth.Authenticate({.authorization = "Bearer t"}).ok());
  EXPECT_TRUE(lines.empty());  // success is not logged
  (void)auth.Authenticate({.authorization = "Bearer guess-1"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("refused a call"));
  EXPECT_THAT(lines[0], HasSubstr("unknown bearer token"));
  for (int i = 0; i < 100; ++i) {
    now += absl::Milliseconds(500);
    (void)auth.Authenticate({.authorization = "Bearer guess-2"});
  }
  // 100 refusals over 50 s: still one line.
  EXPECT_EQ(lines.size(), 1u);
  now += absl::Seconds(11);
  (void)auth.Authenticate({.origin = "HTTP from ipv4:10.0.0.7:51544"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("refused 101 calls"));
  EXPECT_THAT(lines[1], HasSubstr("since 2027-01-15T08:00:00Z"));
  // The latest refusal's origin, so that an operator can find the client.
  EXPECT_THAT(lines[1],
              HasSubstr("the latest: no bearer token or client certificate, "
                        "over HTTP from ipv4:10.0.0.7:51544)"));
  for (const std::string& line : lines) {
    EXPECT_THAT(line, Not(HasSubstr("guess")));
  }
  EXPECT_EQ(auth.failures(), 102);
}

// A burst and then silence: the server's periodic flush reports the burst
// once the interval has passed, and nothing when there is nothing new.
TEST(AuthenticatorTest, AFlushReportsABurstFollowedBySilence) {
  std::vector<std::string> lines;
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const Authenticator auth = AdaLoggingTo(lines, now);
  for (int i = 0; i < 5; ++i) {
    (void)auth.Authenticate({.authorization = "Bearer guess"});
  }
  ASSERT_EQ(lines.size(), 1u);  // the first, at once
  now += absl::Seconds(30);
  auth.FlushFailureLog();
  EXPECT_EQ(lines.size(), 1u);  // not due yet
  now += absl::Seconds(31);
  auth.FlushFailureLog();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("refused 4 calls"));
  now += absl::Minutes(5);
  auth.FlushFailureLog();
  EXPECT_EQ(lines.size(), 2u);  // nothing new
}

TEST(UnauthenticatedCallerTest, OnlyLoopbackMayNameItself) {
  EXPECT_EQ(UnauthenticatedCaller("ipv4:127.0.0.1:5000", "ana").principal,
            "ana");
  EXPECT_EQ(UnauthenticatedCaller("ipv6:[::1]:5000", "ana").principal, "ana");
  EXPECT_EQ(UnauthenticatedCaller("ipv4:10.1.2.3:5000", "ana").principal,
            "peer:ipv4:10.1.2.3");
  EXPECT_EQ(
      UnauthenticatedCaller("ipv4:127.0.0.1:5000", std::nullopt).principal,
      "peer:ipv4:127.0.0.1");
  // One person's calls share a principal whatever port each connection got.
  EXPECT_EQ(
      UnauthenticatedCaller("ipv6:[2001:db8::1]:6000", std::nullopt).principal,
      "peer:ipv6:[2001:db8::1]");
  EXPECT_EQ(UnauthenticatedCaller("unix:/tmp/s", std::nullopt).principal,
            "peer:unix:/tmp/s");
  // Without principals every caller may call everything (loopback-only
  // listener unless --insecure); the name only reaches the audit trail.
  EXPECT_EQ(UnauthenticatedCaller("ipv4:10.1.2.3:5000", "ana").role,
            Role::kAdmin);
}

TEST(CallerTest, LoopbackAddresses) {
  for (const char* yes : {"127.0.0.1:1", "127.1.2.3:1", "localhost:8080",
                          "[::1]:1", "ipv4:127.0.0.1:1", "ipv6:[::1]:9"}) {
    EXPECT_TRUE(IsLoopback(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0:1", "10.0.0.1:1", "[::]:1",
                         "ipv4:192.168.1.1:1", "128.0.0.1:1", "localhostx:1"}) {
    EXPECT_FALSE(IsLoopback(no)) << no;
  }
}

TEST(CallerTest, CallOfNamesTheRpcAndKeepsSites) {
  const CallInfo call =
      CallOf({.principal = "site01", .role = Role::kSite, .sites = {"01"}},
             methods::kSubmitReports);
  EXPECT_EQ(call.principal, "site01");
  EXPECT_EQ(call.rpc, "IngestService.SubmitReports");
  EXPECT_THAT(call.sites, ElementsAre("01"));
}

TEST(PrincipalsTest, RoleErrorNamesEntry) {
  const std::string path = ::testing::TempDir() + "/principals.yaml";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("- {name: a, role: root, token_sha256: 's:x'}\n", f);
  std::fclose(f);
  auto loaded = LoadPrincipals(path);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("principal 1: role: 'root' is not site, "
                        "safety_officer, dsmb_member or admin"));
}

// One token, one principal: a copied entry would let the token in as the
// first entry's role, whatever the second says.
TEST(PrincipalsTest, TheSameTokenHashTwiceIsRefused) {
  const std::string path = ::testing::TempDir() + "/principals-twice.yaml";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(
      "- {name: so-copy, role: safety_officer, token_sha256: "
      "'s:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}\n"
      "- {name: admin-real, role: admin, token_sha256: "
      "'s:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}\n",
      f);
  std::fclose(f);
  auto loaded = LoadPrincipals(path);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("principal 2: token_sha256: the same hash"));
}

// Sites limit only a site principal: on an admin, a safety officer or a
// DSMB member the
// list would read as a restriction the server does not apply.
TEST(PrincipalsTest, SitesOnAnotherRoleAreRefused) {
  const std::string path = ::testing::TempDir() + "/principals-sites.yaml";
  for (const char* role : {"admin", "safety_officer", "dsmb_member"}) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(absl::StrCat("- {name: a, role: ", role,
                            ", sites: ['01'], token_sha256: "
                            "'s:2d711642b726b04401627ca9fbac32f5c8530fb1903cc"
                            "4db02258717921a4881'}\n")
                   .c_str(),
               f);
    std::fclose(f);
    auto loaded = LoadPrincipals(path);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(loaded.status().message(),
                HasSubstr("principal 1: sites: only a site principal"));
  }
}

}  // namespace
}  // namespace aesignal::access
