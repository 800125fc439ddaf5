#include "clients/cli/csv.h"

#include <sstream>

#include "aesignal/v1/report.pb.h"
#include "aesignal/v1/trial.pb.h"
#include "clients/cli/csv_mapping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aesignal::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<CsvRecord> ReadAll(const std::string& text) {
  std::istringstream in(text);
  CsvReader reader(in);
  std::vector<CsvRecord> records;
  while (true) {
    auto next = reader.Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) break;
    records.push_back(**next);
  }
  return records;
}

absl::Status FirstError(const std::string& text) {
  std::istringstream in(text);
  CsvReader reader(in);
  while (true) {
    auto next = reader.Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return absl::OkStatus();
  }
}

TEST(CsvReaderTest, PlainQuotedAndEmptyFields) {
  auto records = ReadAll("a,b,c\n1,,\"x, \"\"y\"\"\"\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(records[0].fields, ElementsAre("a", "b", "c"));
  EXPECT_THAT(records[1].fields, ElementsAre("1", "", "x, \"y\""));
  EXPECT_EQ(records[1].line, 2);
}

TEST(CsvReaderTest, LineBreakInsideQuotesAndLineNumbers) {
  auto records = ReadAll("h1,h2\r\n\"two\nlines\",b\r\n\r\nlast,row");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_THAT(records[1].fields, ElementsAre("two\nlines", "b"));
  EXPECT_EQ(records[1].line, 2);
  EXPECT_EQ(records[2].line, 5);  // blank line 4 skipped
  EXPECT_THAT(records[2].fields, ElementsAre("last", "row"));
}

TEST(CsvReaderTest, ByteOrderMarkIsSkipped) {
  auto records = ReadAll("\xEF\xBB\xBFreport_id\nR1\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(records[0].fields, ElementsAre("report_id"));
}

TEST(CsvReaderTest, EmptyInputHasNoRecords) {
  EXPECT_TRUE(ReadAll("").empty());
  EXPECT_TRUE(ReadAll("\n\n").empty());
}

TEST(CsvReaderTest, MalformedQuotesNameTheLine) {
  absl::Status unterminated = FirstError("a,b\nx,\"never closed\n");
  EXPECT_EQ(unterminated.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unterminated.message()),
              ::testing::StartsWith("2: quoted field is never closed"));
  absl::Status stray = FirstError("a,b\nok,ok\nx,ab\"c\n");
  EXPECT_THAT(std::string(stray.message()), ::testing::StartsWith("3: "));
  absl::Status after = FirstError("a\n\"q\"x\n");
  EXPECT_THAT(std::string(after.message()), ::testing::StartsWith("2: "));
}

// A file saved as Latin-1 is refused at its line, not sent to the server as
// a message it cannot parse; UTF-8 text of any script is fine.
TEST(CsvReaderTest, TextThatIsNotUtf8NamesLineAndField) {
  EXPECT_THAT(ReadAll("pt,soc\n\xC3\x89ryth\xC3\xA8me,\xE7\x9A\xAE\n"),
              ::testing::SizeIs(2));
  absl::Status latin1 = FirstError("pt,soc\nNausea,GI\nNa\xEFusea,GI\n");
  EXPECT_EQ(latin1.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(latin1.message(),
            "3: pt is not UTF-8 text ('Na\\xEFusea'); save the file as "
            "UTF-8 (e.g. iconv -f LATIN1 -t UTF-8 FILE)");
  EXPECT_THAT(std::string(FirstError("a\xEF\n").message()),
              ::testing::StartsWith("1: field 1 is not UTF-8 text"));
}

TEST(CsvLineTest, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvLine({"a", "b c", "d,e", "f\"g", ""}),
            "a,b c,\"d,e\",\"f\"\"g\",");
  // Round trip through the reader.
  auto records = ReadAll(CsvLine({"x,y", "\"q\"", "line\nbreak"}) + "\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_THAT(records[0].fields, ElementsAre("x,y", "\"q\"", "line\nbreak"));
}

TEST(CsvMappingTest, FillsEveryKindOfField) {
  auto mapping = CsvMapping::Create(
      v1::AdverseEventReport::descriptor(),
      {"report_id", "VERSION", "onset_study_day", "grade", "serious",
       "relatedness", "outcome", "action_taken", "aesi", "death"});
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  v1::AdverseEventReport report;
  auto errors = mapping->Fill(
      {"AE-1", "2", "45", "3", "Y", "possible", "Recovered with sequelae",
       "ACTION_TAKEN_DRUG_WITHDRAWN", "infection; thromboembolism|", "false"},
      &report);
  ASSERT_TRUE(errors.empty()) << errors[0].column << ": " << errors[0].reason;
  EXPECT_EQ(report.report_id(), "AE-1");
  EXPECT_EQ(report.version(), 2u);
  ASSERT_TRUE(report.has_onset_study_day());
  EXPECT_EQ(report.onset_study_day(), 45);
  EXPECT_EQ(report.grade(), 3);
  EXPECT_TRUE(report.serious());
  EXPECT_FALSE(report.death());
  EXPECT_EQ(report.relatedness(), v1::RELATEDNESS_POSSIBLE);
  EXPECT_EQ(report.outcome(), v1::OUTCOME_RECOVERED_WITH_SEQUELAE);
  EXPECT_EQ(report.action_taken(), v1::ACTION_TAKEN_DRUG_WITHDRAWN);
  EXPECT_THAT(report.aesi(), ElementsAre("infection", "thromboembolism"));
}

TEST(CsvMappingTest, EmptyCellLeavesOptionalFieldUnset) {
  auto mapping = CsvMapping::Create(v1::AdverseEventReport::descriptor(),
                                    {"report_id", "onset_study_day"});
  ASSERT_TRUE(mapping.ok());
  v1::AdverseEventReport report;
  EXPECT_TRUE(mapping->Fill({"AE-1", " "}, &report).empty());
  EXPECT_FALSE(report.has_onset_study_day());
}

TEST(CsvMappingTest, BadCellsNameTheColumn) {
  auto mapping = CsvMapping::Create(
      v1::AdverseEventReport::descriptor(),
      {"version", "grade", "serious", "relatedness", "onset_study_day"});
  ASSERT_TRUE(mapping.ok());
  v1::AdverseEventReport report;
  auto errors = mapping->Fill(
      {"-1", "two", "maybe", "unspecified", "99999999999"}, &report);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].column, "version");
  EXPECT_EQ(errors[1].column, "grade");
  EXPECT_EQ(errors[2].column, "serious");
  EXPECT_THAT(errors[2].reason, HasSubstr("Y/N"));
  EXPECT_EQ(errors[3].column, "relatedness");
  EXPECT_THAT(errors[3].reason,
              HasSubstr("not_related, unlikely, possible, probable, definite"));
  EXPECT_EQ(errors[4].column, "onset_study_day");
  // The range is named: a large number is not "negative".
  EXPECT_EQ(errors[0].reason, "'-1' is not an integer from 0 to 4294967295");
  EXPECT_EQ(errors[4].reason,
            "'99999999999' is not an integer from -2147483648 to 2147483647");
}

TEST(CsvMappingTest, WrongFieldCountIsAnError) {
  auto mapping =
      CsvMapping::Create(v1::Subject::descriptor(), {"subject_id", "site_id"});
  ASSERT_TRUE(mapping.ok());
  v1::Subject subject;
  auto errors = mapping->Fill({"S1"}, &subject);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].reason, HasSubstr("expected 2 fields"));
}

TEST(CsvMappingTest, HeaderErrors) {
  auto unknown = CsvMapping::Create(v1::AdverseEventReport::descriptor(),
                                    {"report_id", "severity"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("unknown column 'severity'"));
  auto twice =
      CsvMapping::Create(v1::AdverseEventReport::descriptor(), {"pt", "PT"});
  EXPECT_THAT(std::string(twice.status().message()), HasSubstr("twice"));
  auto timestamp = CsvMapping::Create(v1::Subject::descriptor(),
                                      {"subject_id", "update_time"});
  EXPECT_THAT(std::string(timestamp.status().message()),
              HasSubstr("cannot be set from CSV"));
}

TEST(CsvMappingTest, EnumsOfSubjectStatus) {
  auto mapping =
      CsvMapping::Create(v1::Subject::descriptor(), {"subject_id", "status"});
  ASSERT_TRUE(mapping.ok());
  v1::Subject subject;
  EXPECT_TRUE(mapping->Fill({"S1", "Withdrawn"}, &subject).empty());
  EXPECT_EQ(subject.status(), v1::FOLLOW_UP_STATUS_WITHDRAWN);
  EXPECT_EQ(EnumChoices(v1::FollowUpStatus_descriptor()),
            "ongoing, completed, withdrawn");
}

}  // namespace
}  // namespace aesignal::cli
