#include "clients/cli/import/adam_mapping.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::cli::import {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// A dataset from "A,B\n1,2\n" text (no quoting; rows from line 2).
Dataset Table(const std::string& path, const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  std::vector<std::string> columns = absl::StrSplit(lines[0], ',');
  std::vector<DatasetRow> rows;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    rows.push_back({.line = static_cast<int>(i) + 1,
                    .cells = absl::StrSplit(lines[i], ',')});
    rows.back().cells.resize(columns.size());
  }
  return Dataset(path, columns, rows);
}

std::vector<std::string> GroupIds(const v1::Trial& t) {
  std::vector<std::string> ids;
  for (const auto& g : t.dose_groups()) ids.push_back(g.dose_group_id());
  return ids;
}

const char kAdsl[] =
    "STUDYID,USUBJID,SITEID,TRT01A,TRT01AN,SAFFL,TRTDURD,TRTSDT,TRTEDT,EOSSTT,"
    "DCDECOD\n"
    "S1,S-1,01,High,20,Y,30,,,COMPLETED,\n"
    "S1,S-2,01,Placebo,0,Y,,2024-01-01,2024-01-10,,ADVERSE EVENT\n"
    "S1,S-3,02,Low,10,Y,5,,,,COMPLETED\n"
    "S1,S-4,02,Low,10,N,5,,,,\n";
const char kAdaeHeader[] =
    "USUBJID,TRTA,AESEQ,AEDECOD,AEBODSYS,AETERM,AETOXGR,AESEV,AESER,AESHOSP,"
    "AESDTH,AEREL,AEOUT,AEACN,TRTEMFL,ASTDY\n";

ImportOptions Options() {
  ImportOptions o;
  o.trial_id = "T1";
  return o;
}

TEST(AdamMappingTest, TrialSubjectsAndReports) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  Dataset adae =
      Table("adae.csv",
            std::string(kAdaeHeader) +
                "S-1,High,1,Nausea,GI,felt sick,,SEVERE,N,Y,N,PROBABLE,"
                "RECOVERED/RESOLVED,DOSE REDUCED,Y,12\n"
                "S-3,Low,7,Rash,Skin,rash,4,MILD,Y,Y,N,REMOTE,FATAL,,Y,8\n"
                "S-2,Placebo,2,Rash,Skin,rash,,MILD,N,N,N,,,,N,-3\n"
                "S-4,Low,1,Rash,Skin,rash,,MILD,N,N,N,,,,Y,2\n");
  auto plan = MapAdam(adsl, adae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->subject_errors, IsEmpty());
  EXPECT_THAT(plan->report_errors, IsEmpty());
  const v1::Trial& t = plan->trial;
  EXPECT_EQ(t.title(), "S1 (imported from ADaM)");
  EXPECT_THAT(GroupIds(t), ElementsAre("Placebo", "Low", "High"));
  EXPECT_TRUE(t.dose_groups(0).control());
  EXPECT_FALSE(t.dose_groups(1).control());
  EXPECT_EQ(t.dose_groups(2).dose_value(), 20);
  ASSERT_EQ(t.sites_size(), 2);
  // Follow-up: TRTDURD 30; TRTEDT-TRTSDT+1 = 10; TRTDURD 5 raised to onset 8.
  ASSERT_EQ(plan->subjects.size(), 3u);
  EXPECT_EQ(plan->subjects[0].last_contact_day(), 30);
  EXPECT_EQ(plan->subjects[0].status(), v1::FOLLOW_UP_STATUS_COMPLETED);
  EXPECT_EQ(plan->subjects[1].last_contact_day(), 10);
  EXPECT_EQ(plan->subjects[1].status(), v1::FOLLOW_UP_STATUS_WITHDRAWN);
  EXPECT_EQ(plan->subjects[1].withdrawal_reason(), "ADVERSE EVENT");
  EXPECT_EQ(plan->subjects[0].withdrawal_reason(), "");
  EXPECT_EQ(plan->subjects[2].last_contact_day(), 8);
  EXPECT_EQ(plan->subjects[2].status(), v1::FOLLOW_UP_STATUS_COMPLETED);
  EXPECT_EQ(plan->stats.follow_up_from_onset, 1);
  // Timepoints cover the last day (30).
  EXPECT_EQ(t.timepoints(t.timepoints_size() - 1).study_day(), 30);

  ASSERT_EQ(plan->reports.size(), 2u);
  const v1::AdverseEventReport& a = plan->reports[0];
  EXPECT_EQ(a.report_id(), "S-1-1");
  EXPECT_EQ(a.site_id(), "01");
  EXPECT_EQ(a.dose_group_id(), "High");
  EXPECT_EQ(a.onset_study_day(), 12);
  EXPECT_EQ(a.grade(), 3);  // SEVERE
  EXPECT_FALSE(a.serious());
  EXPECT_FALSE(a.hospitalization());  // AESER N is authoritative
  EXPECT_EQ(a.relatedness(), v1::RELATEDNESS_PROBABLE);
  EXPECT_EQ(a.outcome(), v1::OUTCOME_RECOVERED);
  EXPECT_EQ(a.action_taken(), v1::ACTION_TAKEN_DOSE_REDUCED);
  EXPECT_EQ(a.verbatim_term(), "felt sick");
  const v1::AdverseEventReport& b = plan->reports[1];
  EXPECT_EQ(b.grade(), 4);  // AETOXGR wins over AESEV
  EXPECT_TRUE(b.serious());
  EXPECT_TRUE(b.hospitalization());
  EXPECT_EQ(b.relatedness(), v1::RELATEDNESS_UNLIKELY);
  EXPECT_EQ(b.outcome(), v1::OUTCOME_FATAL);
  EXPECT_EQ(plan->report_lines, std::vector<int>({2, 3}));
  EXPECT_EQ(plan->stats.not_teae, 1);
  EXPECT_EQ(plan->stats.ae_not_safety, 1);
  EXPECT_EQ(plan->stats.not_safety, 1);
  EXPECT_EQ(plan->stats.grade_from_severity, 1);
  // One grade of two from AESEV: the trial says how its grades were given.
  EXPECT_EQ(t.grading(),
            "CTCAE grade (AETOXGR) where recorded, else severity (AESEV): "
            "MILD = 1, MODERATE = 2, SEVERE = 3, LIFE THREATENING = 4, "
            "FATAL = 5");
  EXPECT_EQ(plan->stats.criteria_without_serious, 1);
  // Line 3's fatal AE is serious (AESER = Y): nothing to say of it.
  EXPECT_THAT(plan->stats.fatal_not_serious_lines, IsEmpty());
  // No customized-query column: no AESI categories, not the defaults.
  EXPECT_THAT(t.aesi_categories(), IsEmpty());
  EXPECT_TRUE(t.no_aesi_categories());
  EXPECT_THAT(a.aesi(), IsEmpty());
  EXPECT_EQ(plan->field_columns.at("grade"), "AETOXGR");
}

// The CDISC pilot has fatal AEs with AESER = N: they count in the death
// row but not as serious AEs, so the import names their lines.
TEST(AdamMappingTest, FatalAesNotMarkedSeriousAreNamedByLine) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  Dataset adae = Table("adae.csv", std::string(kAdaeHeader) +
                                       "S-1,High,1,Nausea,GI,x,,MILD,N,N,N,,"
                                       "RECOVERED/RESOLVED,,Y,2\n"
                                       "S-1,High,2,Sepsis,Inf,x,,SEVERE,N,N,Y,,"
                                       "FATAL,,Y,9\n"
                                       "S-3,Low,3,Sepsis,Inf,x,,SEVERE,Y,N,Y,,"
                                       "FATAL,,Y,9\n");
  auto plan = MapAdam(adsl, adae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->reports.size(), 3u);
  EXPECT_EQ(plan->stats.fatal_not_serious_lines, std::vector<int>({3}));
}

// An AE file without AESER, AEREL or AEOUT columns is imported (an empty
// cell means N or unknown), and the plan says which are absent, so that
// the import can say every report lacks them.
TEST(AdamMappingTest, AbsentSeriousnessRelatednessAndOutcomeColumnsAreNamed) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  Dataset adae = Table("adae.csv",
                       "USUBJID,AESEQ,AEDECOD,AEBODSYS,AESEV,TRTEMFL,ASTDY,"
                       "AEREL\n"
                       "S-1,1,Nausea,GI,MILD,Y,4,RELATED\n");
  auto plan = MapAdam(adsl, adae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  using Absent = std::pair<std::string, std::string>;
  EXPECT_THAT(plan->stats.absent_ae_columns,
              ElementsAre(Absent{"AESER", "AESER"}, Absent{"AEOUT", "AEOUT"}));
  plan = MapAdam(adsl,
                 Table("adae.csv", std::string(kAdaeHeader) +
                                       "S-1,High,1,Nausea,GI,,1,,N,N,N,RELATED,"
                                       "RECOVERED/RESOLVED,,Y,4\n"),
                 Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->stats.absent_ae_columns, IsEmpty());
}

TEST(AdamMappingTest, AendyIsTheEndDayWhenPresent) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  Dataset adae = Table("adae.csv",
                       "USUBJID,AESEQ,AEDECOD,AEBODSYS,AESEV,TRTEMFL,ASTDY,"
                       "AENDY\n"
                       "S-1,1,Nausea,GI,MILD,Y,4,9\n"
                       "S-1,2,Nausea,GI,MILD,Y,4,\n"
                       "S-1,3,Nausea,GI,MILD,Y,4,3\n"
                       "S-1,4,Nausea,GI,MILD,Y,4,soon\n"
                       "S-1,5,Nausea,GI,MILD,Y,4,4.0\n");
  auto plan = MapAdam(adsl, adae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  // Every grade from AESEV.
  EXPECT_THAT(plan->trial.grading(),
              ::testing::StartsWith("severity (AESEV): MILD = 1"));
  std::vector<std::string> errors;
  for (const auto& e : plan->report_errors) errors.push_back(FormatRowError(e));
  EXPECT_THAT(errors,
              ElementsAre("adae.csv:4: AENDY: end study day 3 is before the "
                          "onset day 4",
                          "adae.csv:5: AENDY: 'soon' is not a study day"));
  ASSERT_EQ(plan->reports.size(), 3u);
  EXPECT_EQ(plan->reports[0].end_study_day(), 9);
  EXPECT_FALSE(plan->reports[1].has_end_study_day());
  EXPECT_EQ(plan->reports[2].end_study_day(), 4);
  EXPECT_EQ(plan->field_columns.at("end_study_day"), "AENDY");
}

TEST(AdamMappingTest, DoseOrderAndControlOptions) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  Dataset adae = Table("adae.csv", kAdaeHeader);
  ImportOptions o = Options();
  o.dose_order = {"low", "High", "placebo"};
  o.control = "Low";
  auto plan = MapAdam(adsl, adae, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(GroupIds(plan->trial), ElementsAre("Low", "High", "Placebo"));
  EXPECT_TRUE(plan->trial.dose_groups(0).control());
  EXPECT_FALSE(plan->trial.dose_groups(2).control());

  o = Options();
  o.no_control = true;
  plan = MapAdam(adsl, adae, o);
  ASSERT_TRUE(plan.ok());
  for (const auto& g : plan->trial.dose_groups()) EXPECT_FALSE(g.control());

  o = Options();
  o.dose_order = {"Low", "High"};
  EXPECT_THAT(MapAdam(adsl, adae, o).status().message(),
              HasSubstr("must list every arm"));
  o = Options();
  o.control = "Medium";
  EXPECT_THAT(MapAdam(adsl, adae, o).status().message(),
              HasSubstr("--control 'Medium' is not an arm"));
}

TEST(AdamMappingTest, WithoutNumericCodesOrderFollowsTheLabels) {
  Dataset adsl = Table("adsl.csv",
                       "USUBJID,SITEID,TRT01A,SAFFL\n"
                       "S-1,01,Drug High Dose,Y\nS-2,01,Drug Low Dose,Y\n"
                       "S-3,01,Placebo,Y\nS-4,01,Screen Failure,N\n");
  auto plan = MapAdam(adsl, Table("adae.csv", kAdaeHeader), Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(GroupIds(plan->trial),
              ElementsAre("Placebo", "Drug-Low-Dose", "Drug-High-Dose"));
  ASSERT_EQ(plan->notes.size(), 2u);
  EXPECT_THAT(plan->notes[0], HasSubstr("--dose-order"));
  EXPECT_THAT(plan->notes[1], HasSubstr("no AESI rows"));

  // Rank codes 1,2,3 are an order, not doses; a dose in the label is used.
  adsl = Table("adsl.csv",
               "USUBJID,SITEID,TRT01A,TRT01AN,SAFFL\n"
               "S-1,01,Drug 5 mg,2,Y\nS-2,01,Placebo,1,Y\nS-3,01,Drug/X,3,Y\n");
  plan = MapAdam(adsl,
                 Table("adae.csv", std::string(kAdaeHeader) +
                                       "S-1,High,1,Nausea,GI,,1,,N,N,N,RELATED,"
                                       "RECOVERED/RESOLVED,,Y,4\n"),
                 Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(GroupIds(plan->trial),
              ElementsAre("Placebo", "Drug-5-mg", "Drug-X"));
  EXPECT_EQ(plan->trial.dose_groups(1).dose_value(), 5);
  EXPECT_EQ(plan->trial.dose_groups(1).dose_unit(), "mg");
  EXPECT_EQ(plan->trial.dose_groups(2).dose_value(), 0);
  EXPECT_EQ(plan->trial.dose_groups(2).label(), "Drug/X");
}

TEST(AdamMappingTest, RowErrorsNameLineAndColumn) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  Dataset adae =
      Table("adae.csv",
            std::string(kAdaeHeader) +
                "S-1,Low,1,Nausea,GI,x,,MILD,N,N,N,,,,Y,3\n"  // arm differs
                "S-1,High,2,,GI,x,7,MILD,X,N,N,,,,Y,3\n"      // 3 errors
                "S-1,High,3,Nausea,GI,x,,MILD,N,N,N,,ODD,SKIP,Y,0\n"
                "S-1,High,4,Nausea,GI,x,,MILD,N,N,N,,,,Y,\n");  // imputed
  auto plan = MapAdam(adsl, adae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<std::string> errors;
  for (const auto& e : plan->report_errors) errors.push_back(FormatRowError(e));
  EXPECT_THAT(
      errors,
      ElementsAre(
          HasSubstr("adae.csv:2: TRTA: 'Low' differs from the subject's "
                    "TRT01A 'High'"),
          "adae.csv:3: AEDECOD: is empty (the MedDRA PT is required)",
          "adae.csv:3: AETOXGR: '7' is not a CTCAE grade 1-5",
          "adae.csv:3: AESER: 'X' is not Y or N",
          "adae.csv:4: ASTDY: onset study day 0 is before the first dose, but "
          "TRTEMFL is Y",
          HasSubstr("adae.csv:4: AEOUT: 'ODD' is not a CDISC outcome term"),
          HasSubstr("adae.csv:4: AEACN: 'SKIP' is not a CDISC action term")));
  ASSERT_EQ(plan->reports.size(), 1u);
  EXPECT_EQ(plan->reports[0].onset_study_day(), 1);
  EXPECT_EQ(plan->stats.onset_imputed, 1);
}

TEST(AdamMappingTest, MissingColumnsAndTheMappingFile) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  Dataset adae = Table("adae.csv",
                       "USUBJID,AESEQ,PT,SOC,AESEV,TEFL,DAY\n"
                       "S-1,1,Nausea,GI,MILD,Y,4\n");
  EXPECT_THAT(MapAdam(adsl, adae, Options()).status().message(),
              HasSubstr("adae.csv:1: required column AEDECOD is missing"));
  auto map = ColumnMap::Parse(
      "# our names\nAEDECOD = PT\n aebodsys=SOC  # lower case is fine\n"
      "TRTEMFL = TEFL\nASTDY = DAY\n",
      "map.txt");
  ASSERT_TRUE(map.ok()) << map.status();
  ImportOptions o = Options();
  o.columns = *map;
  auto plan = MapAdam(adsl, adae, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->reports.size(), 1u);
  EXPECT_EQ(plan->reports[0].pt(), "Nausea");
  EXPECT_EQ(plan->reports[0].soc(), "GI");
  EXPECT_EQ(plan->field_columns.at("onset_study_day"), "DAY");

  EXPECT_THAT(ColumnMap::Parse("AEDECOD PT\n", "m").status().message(),
              HasSubstr("m:1: expected 'STANDARD = COLUMN'"));
  EXPECT_THAT(ColumnMap::Parse("A=B\na = C\n", "m").status().message(),
              HasSubstr("m:2: a is mapped twice"));
  o.columns = *ColumnMap::Parse("AEDECOD = NOPE", "m");
  EXPECT_THAT(MapAdam(adsl, adae, o).status().message(),
              HasSubstr("required column AEDECOD (mapped to NOPE) is missing"));
}

// A mapping line that names no column the import reads, or a column no file
// has, is an error: ignored, it would drop every value of the column (here
// every SAE) without a word.
TEST(AdamMappingTest, MappingLinesThatMapNothingAreErrors) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  Dataset adae = Table("adae.csv", std::string(kAdaeHeader) +
                                       "S-1,High,1,Nausea,GI,sick,3,,Y,Y,N,,,,"
                                       "Y,12\n");
  ImportOptions o = Options();
  o.columns = *ColumnMap::Parse(
      "AEDECOD = AEDECOD\n# SAE flag\nAESERR = SERFL\n", "map.txt");
  EXPECT_EQ(MapAdam(adsl, adae, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(MapAdam(adsl, adae, o).status().message(),
              HasSubstr("map.txt:3: AESERR is not a column this import reads "
                        "(USUBJID, AESEQ, AEDECOD"));
  o.columns = *ColumnMap::Parse("AESER = SERIOUSFLAG\n", "map.txt");
  EXPECT_THAT(MapAdam(adsl, adae, o).status().message(),
              HasSubstr("map.txt:1: AESER = SERIOUSFLAG: no column SERIOUSFLAG "
                        "in adsl.csv or adae.csv"));
  // CQnnNAM and the subject-level names are mappable; a mapped column in
  // either file is found.
  o.columns = *ColumnMap::Parse("CQ01NAM = AETERM\nTRTSDT = TRTSDT\n", "m");
  EXPECT_TRUE(MapAdam(adsl, adae, o).ok());
  // SDTM has its own names: ASTDY is ADaM's.
  Dataset dm = Table("dm.csv", "USUBJID,SITEID,ACTARM\nA,1,Placebo\n");
  Dataset ex = Table("ex.csv", "USUBJID,EXSTDTC\nA,2024-01-01\n");
  Dataset ae = Table("ae.csv",
                     "USUBJID,AESEQ,AEDECOD,AEBODSYS,AESTDTC,AESEV\n"
                     "A,1,Rash,Skin,2024-01-03,MILD\n");
  o.columns = *ColumnMap::Parse("ASTDY = AESEQ\n", "m");
  EXPECT_THAT(MapSdtm(dm, ex, ae, o).status().message(),
              HasSubstr("m:1: ASTDY is not a column this import reads"));
  o.columns = *ColumnMap::Parse("AESTDTC = AESTDTC\n", "m");
  EXPECT_TRUE(MapSdtm(dm, ex, ae, o).ok());
}

// Treatment dates that are there must be dates, in order: a subject whose
// follow-up fell back to its last onset would shrink later windows'
// at-risk denominators without a word.
TEST(AdamMappingTest, BadTreatmentDatesAreSubjectErrors) {
  const std::string header =
      "STUDYID,USUBJID,SITEID,TRT01A,TRT01AN,SAFFL,TRTDURD,TRTSDT,TRTEDT\n";
  Dataset adae = Table("adae.csv", kAdaeHeader);
  for (const auto& [dates, expected] :
       std::vector<std::pair<std::string, std::string>>{
           {"2014-02-30,2014-08-01",
            "adsl.csv:2: TRTSDT: '2014-02-30' is not a date (YYYY-MM-DD)"},
           {"2014-01-01,abc",
            "adsl.csv:2: TRTEDT: 'abc' is not a date (YYYY-MM-DD)"},
           {"2099-01-01,2014-08-01",
            "adsl.csv:2: TRTEDT: '2014-08-01' is before TRTSDT "
            "'2099-01-01'"}}) {
    Dataset adsl = Table("adsl.csv", header + "S1,S-1,01,High,20,Y,," + dates +
                                         "\nS1,S-2,01,Low,10,Y,5,,\n");
    auto plan = MapAdam(adsl, adae, Options());
    ASSERT_TRUE(plan.ok()) << plan.status();
    ASSERT_EQ(plan->subject_errors.size(), 1u) << dates;
    EXPECT_EQ(FormatRowError(plan->subject_errors[0]), expected);
  }
  // A negative duration is bad data too, not a follow-up of one day.
  Dataset negative = Table("adsl.csv", header +
                                           "S1,S-1,01,High,20,Y,-5,,\n"
                                           "S1,S-2,01,Low,10,Y,5,,\n");
  auto refused = MapAdam(negative, adae, Options());
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ(refused->subject_errors.size(), 1u);
  EXPECT_EQ(FormatRowError(refused->subject_errors[0]),
            "adsl.csv:2: TRTDURD: '-5' is not a number of days (0 or more)");
  Dataset adsl = Table("adsl.csv", header +
                                       "S1,S-1,01,High,20,Y,,2014-01-01,"
                                       "2014-01-10\n");
  auto plan = MapAdam(adsl, adae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->subject_errors, IsEmpty());
  ASSERT_EQ(plan->subjects.size(), 1u);
  EXPECT_EQ(plan->subjects[0].last_contact_day(), 10);
}

TEST(AdamMappingTest, SdtmStudyDaysAndPartialDates) {
  Dataset dm = Table("dm.csv",
                     "STUDYID,USUBJID,SITEID,ACTARM,ACTARMCD,RFENDTC\n"
                     "S2,A,1,Placebo,PBO,2024-03-31\nS2,B,1,Screen "
                     "Failure,SCRNFAIL,\n");
  Dataset ex = Table("ex.csv",
                     "USUBJID,EXDOSE,EXDOSU,EXSTDTC,EXENDTC\n"
                     "A,0,mg,2024-03-12T08:00,2024-03-20\n");
  Dataset ae = Table("ae.csv",
                     "USUBJID,AESEQ,AEDECOD,AEBODSYS,AESEV,AESTDTC\n"
                     "A,1,X,S,MILD,2024-03-11\n"    // day -1: not TE
                     "A,2,X,S,MILD,2024-03-12\n"    // day 1
                     "A,3,X,S,MILD,2024-03\n"       // contains dose: day 1
                     "A,4,X,S,MILD,2024-04\n"       // 2024-04-01: day 21
                     "A,5,X,S,MILD,2024-02\n"       // before: not TE
                     "A,6,X,S,MILD,\n"              // missing: day 1
                     "A,7,X,S,MILD,2024-13-01\n"    // error
                     "B,1,X,S,MILD,2024-03-15\n");  // not dosed
  auto plan = MapSdtm(dm, ex, ae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->subject_errors, IsEmpty());
  ASSERT_EQ(plan->subjects.size(), 1u);
  EXPECT_EQ(plan->subjects[0].last_contact_day(), 21);  // RFENDTC 03-31
  std::vector<int> days;
  for (const auto& r : plan->reports) days.push_back(r.onset_study_day());
  EXPECT_THAT(days, ElementsAre(1, 1, 21, 1));
  EXPECT_EQ(plan->stats.not_teae, 2);
  EXPECT_EQ(plan->stats.ae_not_safety, 1);
  EXPECT_EQ(plan->stats.onset_partial, 3);
  EXPECT_EQ(plan->stats.onset_imputed, 1);
  ASSERT_EQ(plan->report_errors.size(), 1u);
  EXPECT_THAT(FormatRowError(plan->report_errors[0]),
              HasSubstr("ae.csv:8: AESTDTC: '2024-13-01' is not an ISO 8601"));
  EXPECT_EQ(plan->trial.title(), "S2 (imported from SDTM)");
  EXPECT_EQ(plan->trial.dose_groups(0).dose_unit(), "mg");
}

// The SDTM domains' headers of the tests below.
const char kDmHeader[] = "STUDYID,USUBJID,SITEID,ACTARM,ACTARMCD,RFENDTC\n";
const char kExHeader[] = "USUBJID,EXDOSE,EXDOSU,EXSTDTC,EXENDTC\n";
const char kSdtmAeHeader[] = "USUBJID,AESEQ,AEDECOD,AEBODSYS,AESEV,AESTDTC\n";

// The plan's subject errors as the CLI prints them.
std::vector<std::string> SubjectErrorsOf(const ImportPlan& plan) {
  std::vector<std::string> out;
  for (const RowError& e : plan.subject_errors)
    out.push_back(FormatRowError(e));
  return out;
}

// An end date that is not a date is an error of the subject's data, named
// with its line and column: it used to end follow-up at the last dose (or at
// the first, for EXENDTC) without a word, shrinking at-risk denominators.
TEST(AdamMappingTest, SdtmEndDatesThatAreNotDatesAreErrors) {
  Dataset dm = Table("dm.csv", std::string(kDmHeader) +
                                   "S2,A,1,Placebo,PBO,2024-03\n"
                                   "S2,B,1,Placebo,PBO,\n"
                                   "S2,C,1,Placebo,PBO,\n");
  Dataset ex = Table("ex.csv", std::string(kExHeader) +
                                   "A,0,mg,2024-03-12,2024-03-20\n"
                                   "B,0,mg,2024-03-12,2024-13-45\n"
                                   "C,0,mg,2024-03-12,2024-03-20\n"
                                   "C,10 mg,mg,2024-03-21,2024-03-22\n");
  Dataset ae =
      Table("ae.csv", std::string(kSdtmAeHeader) + "A,1,X,S,MILD,2024-03-12\n");
  auto plan = MapSdtm(dm, ex, ae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(SubjectErrorsOf(*plan),
              UnorderedElementsAre(
                  HasSubstr("ex.csv:3: EXENDTC: '2024-13-45' is not a "
                            "complete ISO 8601 date"),
                  HasSubstr("dm.csv:2: RFENDTC: '2024-03' is not a complete "
                            "ISO 8601 date (it ends the subject's follow-up"),
                  HasSubstr("ex.csv:5: EXDOSE: '10 mg' is not a dose")));
  // Empty end dates stay what they were: follow-up to the last dose.
  dm = Table("dm.csv",
             "STUDYID,USUBJID,SITEID,ACTARM,ACTARMCD,RFENDTC\n"
             "S2,A,1,Placebo,PBO,\n");
  ex = Table("ex.csv",
             "USUBJID,EXDOSE,EXDOSU,EXSTDTC,EXENDTC\n"
             "A,0,mg,2024-03-12,2024-03-20\n"
             "A,0,mg,2024-03-21,\n");
  plan = MapSdtm(dm, ex, ae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->subject_errors, IsEmpty());
  ASSERT_EQ(plan->subjects.size(), 1u);
  EXPECT_EQ(plan->subjects[0].last_contact_day(), 10);  // 03-21, a start
}

// A subject id the server would refuse stops the import before the trial
// is created (which would otherwise be left without its subjects); a
// subject that is not enrolled is not checked.
TEST(AdamMappingTest, SubjectIdsTheServerWouldRefuseAreSubjectErrors) {
  Dataset dm = Table("dm.csv", std::string(kDmHeader) +
                                   "S2,ST1/001,1,Placebo,PBO,\n"
                                   "S2,NOT/DOSED,1,Placebo,PBO,\n"
                                   "S2," +
                                   std::string(65, 'x') +
                                   ",1,Placebo,PBO,\n"
                                   "S2,C,1,Placebo,PBO,\n");
  Dataset ex = Table("ex.csv", std::string(kExHeader) +
                                   "ST1/001,0,mg,2024-03-12,2024-03-20\n" +
                                   std::string(65, 'x') +
                                   ",0,mg,2024-03-12,2024-03-20\n"
                                   "C,0,mg,2024-03-12,2024-03-20\n");
  Dataset ae =
      Table("ae.csv", std::string(kSdtmAeHeader) + "C,1,X,S,MILD,2024-03-12\n");
  auto plan = MapSdtm(dm, ex, ae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(SubjectErrorsOf(*plan),
              UnorderedElementsAre(
                  HasSubstr("dm.csv:2: USUBJID: 'ST1/001' contains '/'"),
                  HasSubstr("dm.csv:4: USUBJID: '" + std::string(65, 'x') +
                            "' is 65 bytes; a subject id is at most "
                            "64")));
}

// SITEIDs that would become the same site id, or no id at all, are subject
// errors: two sites merged would mix what each site's principal may see.
TEST(AdamMappingTest, SiteIdsThatWouldMergeOrVanishAreSubjectErrors) {
  Dataset dm = Table("dm.csv", std::string(kDmHeader) +
                                   "S2,A,01/A,Placebo,PBO,\n"
                                   "S2,B,01 A,Placebo,PBO,\n"
                                   "S2,C,01/A,Placebo,PBO,\n"
                                   "S2,D,###,Placebo,PBO,\n"
                                   "S2,E,02,Placebo,PBO,\n");
  std::string ex_rows = kExHeader;
  for (const char* id : {"A", "B", "C", "D", "E"}) {
    absl::StrAppend(&ex_rows, id, ",0,mg,2024-03-12,2024-03-20\n");
  }
  Dataset ae =
      Table("ae.csv", std::string(kSdtmAeHeader) + "E,1,X,S,MILD,2024-03-12\n");
  auto plan = MapSdtm(dm, Table("ex.csv", ex_rows), ae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(
      SubjectErrorsOf(*plan),
      UnorderedElementsAre(
          "dm.csv:3: SITEID: '01 A' and '01/A' (line 2) would both be site "
          "id '01-A'; give the sites distinct ids",
          "dm.csv:5: SITEID: '###' has no letter or digit to make a site id "
          "of"));
}

TEST(AdamMappingTest, BuildingBlocks) {
  EXPECT_EQ(StudyDay(10, 10), 1);
  EXPECT_EQ(StudyDay(9, 10), -1);  // no day 0
  EXPECT_EQ(StudyDay(40, 10), 31);
  EXPECT_EQ(ParseIsoDate("1970-01-02"), 1);
  EXPECT_EQ(ParseIsoDate("1970-01-02T10:11:12"), 1);
  EXPECT_EQ(ParseIsoDate("1970-01"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("1970-01-02x"), std::nullopt);
  // A time after the date is an ISO 8601 time, or the cell is not a date.
  for (const char* dated :
       {"1970-01-02T10", "1970-01-02T10:11", "1970-01-02 10:11:12",
        "1970-01-02T10:11:12.5", "1970-01-02T10:11Z",
        "1970-01-02T10:11:12+01:00", "1970-01-02T23:59:59-0530"}) {
    EXPECT_EQ(ParseIsoDate(dated), 1) << dated;
  }
  for (const char* junk :
       {"1970-01-02Tjunk", "1970-01-02 xyz", "1970-01-02T", "1970-01-02T24:00",
        "1970-01-02T10:60", "1970-01-02T10:11:12.", "1970-01-02T10:11:12x",
        "1970-01-02T10:11+25:00"}) {
    EXPECT_EQ(ParseIsoDate(junk), std::nullopt) << junk;
  }
  EXPECT_EQ(SanitizeId("  A/B\tC "), "A-B-C");
  EXPECT_EQ(SanitizeId("Xanomeline High Dose"), "Xanomeline-High-Dose");
  EXPECT_EQ(SanitizeId("Drug (10 mg/kg) + MTX"), "Drug-10-mg-kg-MTX");
  EXPECT_EQ(SanitizeId("v1.2_b"), "v1.2_b");
  EXPECT_EQ(SanitizeId(std::string(70, 'x')).size(), 64u);

  auto tps = ParseTimepoints("D30:30, D91:91:Day 91");
  ASSERT_TRUE(tps.ok()) << tps.status();
  ASSERT_EQ(tps->size(), 2u);
  EXPECT_EQ((*tps)[1].timepoint_id(), "D91");
  EXPECT_EQ((*tps)[1].label(), "Day 91");
  EXPECT_FALSE(ParseTimepoints("D30").ok());
  EXPECT_FALSE(ParseTimepoints("D0:0").ok());

  auto ids = [](int last) {
    std::vector<std::string> out;
    for (const auto& tp : DefaultTimepoints(last)) {
      out.push_back(absl::StrCat(tp.timepoint_id(), "@", tp.study_day()));
    }
    return out;
  };
  EXPECT_THAT(ids(10), ElementsAre("D10@10"));
  EXPECT_THAT(ids(28), ElementsAre("W2@14", "W4@28"));
  EXPECT_THAT(ids(194),
              ElementsAre("W2@14", "W4@28", "W8@56", "W12@84", "W16@112",
                          "W20@140", "W24@168", "W26@182", "D194@194"));

  v1::Relatedness rel;
  ASSERT_TRUE(MapRelatedness("not related", &rel));
  EXPECT_EQ(rel, v1::RELATEDNESS_NOT_RELATED);
  ASSERT_TRUE(MapRelatedness("RELATED", &rel));
  EXPECT_EQ(rel, v1::RELATEDNESS_DEFINITE);
  ASSERT_TRUE(MapRelatedness("", &rel));
  EXPECT_EQ(rel, v1::RELATEDNESS_UNSPECIFIED);
  EXPECT_FALSE(MapRelatedness("MAYBE", &rel));
  v1::Outcome out;
  ASSERT_TRUE(MapOutcome("RECOVERING/RESOLVING", &out));
  EXPECT_EQ(out, v1::OUTCOME_RECOVERING);
  ASSERT_TRUE(MapOutcome("NOT RECOVERED/NOT RESOLVED", &out));
  EXPECT_EQ(out, v1::OUTCOME_NOT_RECOVERED);
  ASSERT_TRUE(MapOutcome("recovered/resolved with sequelae", &out));
  EXPECT_EQ(out, v1::OUTCOME_RECOVERED_WITH_SEQUELAE);
  v1::ActionTaken act;
  ASSERT_TRUE(MapActionTaken("DRUG INTERRUPTED", &act));
  EXPECT_EQ(act, v1::ACTION_TAKEN_DRUG_INTERRUPTED);
  EXPECT_FALSE(MapActionTaken("DOSE INCREASED", &act));
  EXPECT_EQ(GradeFromSeverity("moderate"), 2);
  EXPECT_EQ(GradeFromSeverity("SEVERE"), 3);
  EXPECT_EQ(GradeFromSeverity("LIFE THREATENING"), 4);
  EXPECT_EQ(GradeFromSeverity(""), std::nullopt);
}

// ADaM's customized queries (CQnnNAM) name the AEs of special interest:
// each name is an AESI category of the trial, carried by its reports.
TEST(AdamMappingTest, CustomizedQueriesBecomeAesiCategories) {
  Dataset adsl = Table("adsl.csv", kAdsl);
  std::string header = kAdaeHeader;
  header.back() = ',';
  Dataset adae = Table(
      "adae.csv", header + "CQ01NAM,CQ02NAM\n" +
                      "S-1,High,1,Rash,Skin,rash,,MILD,N,N,N,,,,Y,12,"
                      "DERMATOLOGIC EVENTS,\n"
                      "S-3,Low,2,Pruritus,Skin,itch,,MILD,N,N,N,,,,Y,8,"
                      "DERMATOLOGIC EVENTS,Skin/Itch (broad)\n"
                      "S-3,Low,3,Nausea,GI,sick,,MILD,N,N,N,,,,Y,9,,\n"
                      "S-1,High,4,Rash,Skin,rash,,MILD,N,N,N,,,,Y,13,--,\n");
  auto plan = MapAdam(adsl, adae, Options());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->trial.aesi_categories(),
              ElementsAre("dermatologic_events", "skin_itch_broad"));
  EXPECT_FALSE(plan->trial.no_aesi_categories());
  // The AE with an unusable query name ("--") is reported without it.
  ASSERT_EQ(plan->reports.size(), 4u);
  EXPECT_THAT(plan->reports[0].aesi(), ElementsAre("dermatologic_events"));
  EXPECT_THAT(plan->reports[1].aesi(),
              ElementsAre("dermatologic_events", "skin_itch_broad"));
  EXPECT_THAT(plan->reports[2].aesi(), IsEmpty());
  EXPECT_THAT(plan->reports[3].aesi(), IsEmpty());
  EXPECT_THAT(plan->report_errors, IsEmpty());
  EXPECT_EQ(plan->stats.aesi_names_unusable, 1);
  EXPECT_THAT(plan->notes, ::testing::Contains(HasSubstr(
                               "1 CQnnNAM cells have no letter or digit")));
  EXPECT_THAT(plan->notes,
              ::testing::Contains(
                  "AESI categories from CQnnNAM: dermatologic_events (2 "
                  "reports), skin_itch_broad (1 reports)"));
}

TEST(AdamMappingTest, AesiCategoryOf) {
  EXPECT_EQ(AesiCategoryOf("DERMATOLOGIC EVENTS"), "dermatologic_events");
  EXPECT_EQ(AesiCategoryOf("  Skin/Itch (broad) "), "skin_itch_broad");
  EXPECT_EQ(AesiCategoryOf("--"), "");
  EXPECT_EQ(AesiCategoryOf(std::string(70, 'A')), std::string(64, 'a'));
  EXPECT_EQ(AesiCategoryOf(std::string(63, 'a') + " b"), std::string(63, 'a'));
}

}  // namespace
}  // namespace aesignal::cli::import
