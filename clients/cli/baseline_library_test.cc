// Baseline libraries: the shipped ones (deploy/baselines) read cleanly and
// hold the published figures, each percentage consistent with its x0/n0 and
// its quote; bad files are refused with file, line and field; the p0 and
// timepoint rules; planning against a trial.
#include "clients/cli/baseline_library.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::cli {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

const std::string kLibraries = AESIGNAL_SOURCE_DIR "/deploy/baselines";

BaselineLibrary ReadShipped(const std::string& name) {
  LibraryRead read = ReadBaselineLibrary(kLibraries + "/" + name + ".yaml");
  EXPECT_THAT(read.errors, IsEmpty()) << absl::StrJoin(read.errors, "\n");
  return read.library.value_or(BaselineLibrary{});
}

const LibraryEntry* Find(const BaselineLibrary& library,
                         const std::string& id) {
  for (const auto& e : library.entries) {
    if (e.id == id) return &e;
  }
  ADD_FAILURE() << "no entry " << id << " in " << library.id;
  return nullptr;
}

std::vector<std::string> ShippedNames() {
  std::vector<std::string> names;
  for (const auto& f : std::filesystem::directory_iterator(kLibraries)) {
    if (f.path().extension() == ".yaml") {
      names.push_back(f.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ShippedBaselineLibraryTest, OneFilePerSourcePublication) {
  EXPECT_THAT(ShippedNames(), ElementsAre("aether", "ctdild", "cx611", "ra5y",
                                          "sle40", "sle6"));
}

// The figures the issue names, and those of the libraries the example trial
// cites, as the reports print them.
TEST(ShippedBaselineLibraryTest, FiguresAsPublished) {
  struct Figure {
    std::string library, entry, term;
    int x0, n0, day;
  };
  const std::vector<Figure> figures = {
      {"ra5y", "osteoarthritis", "Osteoarthritis", 6, 9, 1826},
      {"ra5y", "nasopharyngitis", "Nasopharyngitis", 4, 9, 1826},
      {"ra5y", "abdominal-pain", "Abdominal pain", 3, 9, 1826},
      {"ra5y", "osteopenia", "Osteopenia", 3, 9, 1826},
      {"ra5y", "osteoporosis", "Osteoporosis", 3, 9, 1826},
      {"ra5y", "lumbar-spinal-stenosis", "Lumbar spinal stenosis", 2, 9, 1826},
      {"ra5y", "hypertension", "Hypertension", 2, 9, 1826},
      {"ra5y", "sae", "any_sae", 5, 9, 1826},
      {"ra5y", "thromboembolism", "aesi:thromboembolism", 0, 9, 1826},
      {"sle40", "any-ae", "any_ae", 0, 40, 365},
      {"sle40", "infusion-reaction", "aesi:infusion_reaction", 0, 40, 8},
      {"ctdild", "infusion-reaction", "aesi:infusion_reaction", 0, 10, 1},
      {"ctdild", "related", "related", 0, 10, 182},
      {"cx611", "any-ae", "any_ae", 38, 46, 168},
      {"cx611", "grade3", "grade_3_plus", 5, 46, 168},
      {"cx611", "sae", "any_sae", 1, 46, 168},
      {"aether", "sae-4w", "any_sae", 0, 9, 28},
      {"aether", "ipf-progression", "Idiopathic pulmonary fibrosis", 2, 9, 448},
  };
  std::map<std::string, BaselineLibrary> libraries;
  for (const auto& f : figures) {
    SCOPED_TRACE(f.library + "/" + f.entry);
    if (!libraries.count(f.library)) {
      libraries[f.library] = ReadShipped(f.library);
    }
    const LibraryEntry* e = Find(libraries[f.library], f.entry);
    if (e == nullptr) continue;
    EXPECT_EQ(e->level == EntryLevel::kPt ? e->pt : e->overall_key, f.term);
    EXPECT_EQ(e->x0, f.x0);
    EXPECT_EQ(e->n0, f.n0);
    EXPECT_EQ(e->follow_up_day, f.day);
  }
  const BaselineLibrary ra = ReadShipped("ra5y");
  EXPECT_EQ(Find(ra, "nasopharyngitis")->soc, "Infections and infestations");
  EXPECT_EQ(Find(ra, "osteoporosis")->soc,
            "Musculoskeletal and connective tissue disorders");
  EXPECT_EQ(Find(ra, "death")->level, EntryLevel::kOverall);
  EXPECT_EQ(Find(ra, "death")->overall_key, "death");
  EXPECT_EQ(Find(ReadShipped("sle6"), "adverse-events")->level,
            EntryLevel::kReference);
}

// The consistency CI can check without the seed texts: a printed percentage
// is in its quote, and (checked while reading) is x0/n0 rounded; every
// entry quotes its source; every library quotes its population.
TEST(ShippedBaselineLibraryTest, PercentagesAreInTheirQuotes) {
  int percentages = 0;
  for (const auto& name : ShippedNames()) {
    const BaselineLibrary library = ReadShipped(name);
    EXPECT_FALSE(library.population_text.empty()) << name;
    for (const auto& e : library.entries) {
      SCOPED_TRACE(name + "/" + e.id);
      EXPECT_FALSE(e.source_text.empty());
      if (e.reported_percent.empty()) continue;
      ++percentages;
      EXPECT_THAT(e.source_text, HasSubstr(e.reported_percent + "%"));
    }
  }
  EXPECT_GE(percentages, 9);
}

TEST(ExpectedProportionTest, ObservedOrJeffreys) {
  EXPECT_DOUBLE_EQ(ExpectedProportion(4, 9), 4.0 / 9);
  EXPECT_DOUBLE_EQ(ExpectedProportion(0, 9), 0.05);  // example sae-3m-ipf
  EXPECT_DOUBLE_EQ(ExpectedProportion(0, 10), 0.5 / 11);
  EXPECT_DOUBLE_EQ(ExpectedProportion(0, 40), 0.5 / 41);
  EXPECT_DOUBLE_EQ(ExpectedProportion(6, 6), 6.5 / 7);
}

v1::Trial TrialWithDays(const std::vector<int>& days) {
  v1::Trial trial;
  trial.set_trial_id("T1");
  for (int day : days) {
    auto* tp = trial.add_timepoints();
    tp->set_timepoint_id("D" + std::to_string(day));
    tp->set_study_day(day);
  }
  for (const char* c :
       {"infection", "thromboembolism", "malignancy", "infusion_reaction"}) {
    trial.add_aesi_categories(c);
  }
  return trial;
}

TEST(TimepointForTest, NearestAtOrAfterElseLast) {
  const v1::Trial trial = TrialWithDays({1, 7, 30, 91, 182});
  EXPECT_EQ(TimepointFor(trial, 1), 0);
  EXPECT_EQ(TimepointFor(trial, 8), 2);
  EXPECT_EQ(TimepointFor(trial, 168), 4);
  EXPECT_EQ(TimepointFor(trial, 182), 4);
  EXPECT_EQ(TimepointFor(trial, 1826), 4);
  EXPECT_EQ(TimepointFor(TrialWithDays({}), 5), -1);
}

TEST(PlanLibraryTest, MapsEntriesAndSkipsWhatTheTrialCannotHold) {
  const BaselineLibrary ra = ReadShipped("ra5y");
  const v1::Trial trial = TrialWithDays({91, 182, 365, 1095});
  const std::vector<PlannedBaseline> plan = PlanLibrary(ra, trial);
  ASSERT_THAT(plan, SizeIs(ra.entries.size()));
  std::map<std::string, const PlannedBaseline*> by_id;
  for (const auto& p : plan) by_id[p.baseline_id] = &p;

  const PlannedBaseline& naso = *by_id.at("ra5y-nasopharyngitis");
  ASSERT_TRUE(naso.baseline);
  EXPECT_EQ(naso.baseline->level(), v1::TERM_LEVEL_PT);
  EXPECT_EQ(naso.baseline->pt(), "Nasopharyngitis");
  EXPECT_EQ(naso.baseline->soc(), "Infections and infestations");
  EXPECT_EQ(naso.baseline->timepoint_id(), "D1095");  // 5 years: the last
  EXPECT_DOUBLE_EQ(naso.baseline->expected_proportion(), 4.0 / 9);
  EXPECT_EQ(naso.baseline->source_events(), 4);
  EXPECT_EQ(naso.baseline->source_subjects(), 9);
  EXPECT_TRUE(naso.baseline->dose_group_id().empty());
  EXPECT_THAT(naso.baseline->citation(),
              HasSubstr("Arthritis Rheumatol. 2021;73(suppl 9)"));
  EXPECT_THAT(naso.baseline->citation(),
              HasSubstr("\"nasopharyngitis (44.4%)\""));
  EXPECT_THAT(naso.baseline->citation(), HasSubstr("the trial's last"));

  const PlannedBaseline& tumour = *by_id.at("ra5y-benign-ovarian-tumour");
  EXPECT_EQ(tumour.baseline->timepoint_id(), "D1095");  // 3 years: at it
  EXPECT_THAT(tumour.baseline->citation(), Not(HasSubstr("the trial's last")));

  const PlannedBaseline& thrombo = *by_id.at("ra5y-thromboembolism");
  EXPECT_DOUBLE_EQ(thrombo.baseline->expected_proportion(), 0.05);
  EXPECT_THAT(thrombo.baseline->citation(), HasSubstr("Jeffreys"));

  EXPECT_FALSE(by_id.at("ra5y-benign-tumour")->baseline);
  EXPECT_THAT(by_id.at("ra5y-benign-tumour")->skip_reason,
              HasSubstr("no AESI category 'benign_tumour'"));
  ASSERT_TRUE(by_id.at("ra5y-death")->baseline);
  EXPECT_EQ(by_id.at("ra5y-death")->baseline->overall_key(), "death");

  // A figure kept for traceability is never loaded.
  const BaselineLibrary sle = ReadShipped("sle6");
  bool reference_skipped = false;
  for (const PlannedBaseline& p : PlanLibrary(sle, trial)) {
    if (p.baseline_id != "sle6-adverse-events") continue;
    EXPECT_FALSE(p.baseline);
    EXPECT_THAT(p.skip_reason, HasSubstr("reference only"));
    reference_skipped = true;
  }
  EXPECT_TRUE(reference_skipped);
}

// A small valid library, one entry at line 9, for the bad-input cases to
// break one field of.
constexpr char kGood[] = R"(format: aesignal-baseline-library/1
library: lib
citation: Author A. A report. 2024.
source_file: seed.txt
population: 9 patients
entries:
  - id: naso
    level: pt
    pt: Nasopharyngitis
    soc: Infections and infestations
    x0: 4
    n0: 9
    reported_percent: 44.4
    follow_up: 5 years
    follow_up_day: 1826
    source_text: nasopharyngitis (44.4%)
)";

class BadLibraryTest : public ::testing::Test {
 protected:
  // Errors of kGood with `from` replaced by `to`, written as `name`.
  std::vector<std::string> ErrorsOf(const std::string& from,
                                    const std::string& to,
                                    const std::string& name = "lib.yaml") {
    std::string text = kGood;
    if (!from.empty()) {
      const size_t at = text.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) text.replace(at, from.size(), to);
    }
    std::ofstream(dir_.Sub(name)) << text;
    LibraryRead read = ReadBaselineLibrary(dir_.Sub(name));
    EXPECT_EQ(read.library.has_value(), read.errors.empty());
    return read.errors;
  }
  std::string Path(const std::string& name = "lib.yaml") {
    return dir_.Sub(name);
  }

  testing::TempDir dir_;
};

TEST_F(BadLibraryTest, TheGoodOneReads) {
  EXPECT_THAT(ErrorsOf("", ""), IsEmpty());
}

TEST_F(BadLibraryTest, EachProblemNamesFileLineAndField) {
  struct Case {
    std::string from, to, error;
  };
  const std::vector<Case> cases = {
      {"x0: 4", "x0: 10", ":11: entries[0].x0: x0 = 10 is more than n0 = 9"},
      {"x0: 4", "x0: four", ":11: entries[0].x0: must be an integer"},
      {"n0: 9", "n0: 0", ":12: entries[0].n0: must be an integer 1.."},
      {"reported_percent: 44.4", "reported_percent: 55.6",
       ":13: entries[0].reported_percent: 55.6% is not x0/n0 = 4/9 = 44.444%"},
      {"reported_percent: 44.4", "reported_percent: 44.4%",
       ":13: entries[0].reported_percent: must be a percentage"},
      {"soc: Infections and infestations", "soc: Infections",
       ":10: entries[0].soc: 'Infections' is not a MedDRA system organ class"},
      {"    source_text: nasopharyngitis (44.4%)\n", "",
       ":7: entries[0].source_text: is required"},
      {"    follow_up_day: 1826", "    follow_up_day: 0",
       ":15: entries[0].follow_up_day: must be an integer 1.."},
      {"    x0: 4", "    x1: 4", ":11: entries[0].x1: unknown field"},
      {"    n0: 9", "    n0: 9\n    n0: 10", ":13: entries[0].n0: repeated"},
      {"level: pt", "level: term",
       ":8: entries[0].level: 'term' is not one of pt, soc, overall"},
      {"    pt: Nasopharyngitis", "    overall_key: any_ae",
       ":9: entries[0].overall_key: only a level overall entry"},
      {"level: pt\n    pt: Nasopharyngitis\n    soc: Infections and "
       "infestations",
       "level: overall\n    overall_key: \"aesi:\"",
       ":9: entries[0].overall_key: 'aesi:' is not an overall row"},
      {"id: naso", "id: Naso_1", ":7: entries[0].id: 'Naso_1' must be"},
      {"library: lib", "library: other",
       ":2: library: 'other' must be the file's name"},
      {"format: aesignal-baseline-library/1", "format: v2",
       ":1: format: must be aesignal-baseline-library/1"},
      {"citation: Author A. A report. 2024.\n", "",
       ":1: citation: is required"},
      {"  - id: naso", "  - id: naso\n    oops: [", "not valid YAML"},
      {"entries:\n", "entries: []\nold_entries:\n", ":6: entries: must be a "},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.from + " -> " + c.to);
    const std::vector<std::string> errors = ErrorsOf(c.from, c.to);
    ASSERT_FALSE(errors.empty());
    EXPECT_THAT(absl::StrJoin(errors, "\n"), HasSubstr(c.error));
    EXPECT_TRUE(absl::StartsWith(errors[0], Path() + ":")) << errors[0];
  }
}

TEST_F(BadLibraryTest, RepeatedIdsAndReferenceEntriesWithoutANote) {
  const std::string entry =
      "  - id: naso\n    level: pt\n    pt: Nasopharyngitis\n    soc: "
      "Infections and infestations\n    x0: 4\n    n0: 9\n    follow_up: 5 "
      "years\n    follow_up_day: 1826\n    source_text: q\n";
  EXPECT_THAT(ErrorsOf("entries:\n", "entries:\n" + entry),
              Contains(HasSubstr(":16: entries[1].id: repeats the id 'naso'")));
  const std::string reference =
      "  - id: death\n    level: reference\n    follow_up: 5 years\n"
      "    source_text: no death\n";
  EXPECT_THAT(ErrorsOf("entries:\n", "entries:\n" + reference),
              ElementsAre(HasSubstr(":7: entries[0].note: is required")));
}

TEST_F(BadLibraryTest, MissingFile) {
  LibraryRead read = ReadBaselineLibrary(Path("none.yaml"));
  EXPECT_FALSE(read.library);
  EXPECT_THAT(read.errors,
              ElementsAre(Path("none.yaml") + ": cannot open file"));
}

}  // namespace
}  // namespace aesignal::cli
