// The exact trend test on the tests the signal evaluator ran while loading
// the query bench's trial (testdata/trend_load_corpus.csv), against the
// results of an earlier version of the dynamic program, bit for bit: the
// stored signals of an existing store are compared with a re-evaluation, so
// a change of implementation must not move a p-value by one ulp, nor change
// which tests fit the budget.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/signal/rule.h"
#include "services/signal/signal_stats.h"

namespace aesignal::signal {
namespace {

const std::vector<int64_t> kSubjects(5, 2000);
const std::vector<double> kScores = {2.5e7, 5e7, 1e8, 2e8, 4e8};

double Hex(const std::string& text) {
  double v = 0;
  EXPECT_EQ(std::sscanf(text.c_str(), "%la", &v), 1) << text;
  return v;
}

struct Expected {
  std::vector<int64_t> x;
  bool exact = false;
  double p = 0;
  bool two_sided = false;  // the line has two-sided results
  bool exact2 = false;
  double p2 = 0, p2_two_sided = 0;
};

std::vector<Expected> ReadCorpus() {
  std::ifstream in(std::string(AESIGNAL_SIGNAL_TESTDATA) +
                   "/trend_load_corpus.csv");
  EXPECT_TRUE(in.good());
  std::vector<Expected> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> cells = absl::StrSplit(line, ',');
    EXPECT_TRUE(cells.size() == 3 || cells.size() == 6) << line;
    if (cells.size() != 3 && cells.size() != 6) continue;
    Expected e;
    for (absl::string_view v : absl::StrSplit(cells[0], ' ')) {
      int64_t count = 0;
      EXPECT_TRUE(absl::SimpleAtoi(v, &count)) << line;
      e.x.push_back(count);
    }
    e.exact = cells[1] == "1";
    e.p = Hex(cells[2]);
    if (cells.size() == 6) {
      e.two_sided = true;
      e.exact2 = cells[3] == "1";
      e.p2 = Hex(cells[4]);
      e.p2_two_sided = Hex(cells[5]);
    }
    out.push_back(e);
  }
  return out;
}

TEST(TrendCorpusTest, ResultsAreBitForBitThoseOfTheEarlierVersion) {
  const std::vector<Expected> corpus = ReadCorpus();
  ASSERT_EQ(corpus.size(), 337u);
  int not_exact = 0, two_sided = 0;
  for (const Expected& e : corpus) {
    SCOPED_TRACE(::testing::PrintToString(e.x));
    ASSERT_EQ(e.x.size(), kSubjects.size());
    auto server =
        CochranArmitage(e.x, kSubjects, kScores, ServerTrendOptions());
    ASSERT_TRUE(server.ok()) << server.status();
    EXPECT_EQ(server->exact, e.exact);
    EXPECT_EQ(server->p, e.p);  // exact equality, on purpose
    not_exact += !e.exact;
    if (!e.two_sided) continue;
    ++two_sided;
    TrendOptions options;
    options.two_sided = true;
    auto both = CochranArmitage(e.x, kSubjects, kScores, options);
    ASSERT_TRUE(both.ok()) << both.status();
    EXPECT_EQ(both->exact, e.exact2);
    EXPECT_EQ(both->p, e.p2);
    EXPECT_EQ(both->p_two_sided, e.p2_two_sided);
  }
  // The corpus covers tests over the server's budget (asymptotic) and
  // two-sided ones.
  EXPECT_EQ(not_exact, 13);
  EXPECT_EQ(two_sided, 85);
}

}  // namespace
}  // namespace aesignal::signal
