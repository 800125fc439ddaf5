#include "clients/cli/import/dataset.h"

#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace aesignal::cli::import {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kPilot = AESIGNAL_SOURCE_DIR "/tests/data/cdiscpilot01";

TEST(DatasetTest, ReadsCsvByColumnName) {
  testing::TempDir dir;
  const std::string path = dir.Sub("adsl.csv");
  std::ofstream(path) << "USUBJID,SiteId,TRT01A\n"
                         "01-701-1015,701,Placebo  \n"
                         "\n"
                         "\"01-701-1023\",\"701\",\"Xanomeline, High\"\n";
  auto ds = ReadDataset(path);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_THAT(ds->columns(), ElementsAre("USUBJID", "SiteId", "TRT01A"));
  EXPECT_EQ(ds->Column("siteid"), 1);
  EXPECT_EQ(ds->Column("TRT01AN"), -1);
  ASSERT_EQ(ds->rows().size(), 2u);
  EXPECT_EQ(ds->rows()[0].line, 2);
  EXPECT_EQ(ds->rows()[0].cells[2], "Placebo");  // trailing blanks dropped
  EXPECT_EQ(ds->rows()[1].line, 4);
  EXPECT_EQ(ds->rows()[1].cells[2], "Xanomeline, High");
}

TEST(DatasetTest, CsvErrorsNameTheLine) {
  testing::TempDir dir;
  const std::string path = dir.Sub("bad.csv");
  std::ofstream(path) << "A,B\n1,2\n3\n";
  auto ds = ReadDataset(path);
  ASSERT_FALSE(ds.ok());
  EXPECT_THAT(ds.status().message(), HasSubstr("bad.csv:3: 1 cells"));
  EXPECT_EQ(ReadDataset(dir.Sub("missing.csv")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(ReadDataset(dir.Sub("x.sas7bdat")).status().message(),
              HasSubstr("expected a .csv or .xpt"));
  const std::string twice = dir.Sub("twice.csv");
  std::ofstream(twice) << "USUBJID,AESEQ,usubjid\n1,2,3\n";
  EXPECT_THAT(ReadDataset(twice).status().message(),
              HasSubstr("twice.csv:1: column 'usubjid' appears twice"));
  const std::string not_xpt = dir.Sub("not.xpt");
  std::ofstream(not_xpt) << "this is not SAS transport\n";
  EXPECT_THAT(ReadDataset(not_xpt).status().message(),
              HasSubstr("not a readable SAS transport file"));
}

TEST(DatasetTest, SasValuesAsText) {
  EXPECT_EQ(SasDateToIso(0), "1960-01-01");
  EXPECT_EQ(SasDateToIso(19725), "2014-01-02");
  EXPECT_EQ(SasDateToIso(-1), "1959-12-31");
  EXPECT_EQ(FormatSasNumber(54), "54");
  EXPECT_EQ(FormatSasNumber(-6970), "-6970");
  EXPECT_EQ(FormatSasNumber(25.1), "25.1");
  EXPECT_EQ(FormatSasNumber(1.0 / 3), "0.333333");
  EXPECT_EQ(FormatSasNumber(5.4e-79), "0");
  EXPECT_EQ(ClassifySasFormat("DATE9."), SasFormatKind::kDate);
  EXPECT_EQ(ClassifySasFormat("yymmdd10"), SasFormatKind::kDate);
  EXPECT_EQ(ClassifySasFormat("E8601DA."), SasFormatKind::kDate);
  EXPECT_EQ(ClassifySasFormat("DATETIME20."), SasFormatKind::kDateTime);
  EXPECT_EQ(ClassifySasFormat("BEST12."), SasFormatKind::kOther);
  EXPECT_EQ(ClassifySasFormat(""), SasFormatKind::kOther);
}

// The committed XPT fixtures (tests/import/make_xpt.R, written by haven from
// the CSVs) read back cell for cell as the CSVs, dates included; the only
// difference allowed is a whole number the CSV spells "54.0" (pandas wrote
// float columns so), which the XPT reader writes "54".
TEST(DatasetTest, XptGivesTheSameCellsAsCsv) {
  for (const char* name : {"adsl", "adae"}) {
    SCOPED_TRACE(name);
    auto csv = ReadDataset(kPilot + "/" + name + ".csv");
    auto xpt = ReadDataset(kPilot + "/" + name + ".xpt");
    ASSERT_TRUE(csv.ok()) << csv.status();
    ASSERT_TRUE(xpt.ok()) << xpt.status();
    ASSERT_EQ(xpt->columns(), csv->columns());
    ASSERT_EQ(xpt->rows().size(), csv->rows().size());
    std::set<std::string> differing;
    for (size_t r = 0; r < csv->rows().size(); ++r) {
      EXPECT_EQ(xpt->rows()[r].line, csv->rows()[r].line);
      for (size_t c = 0; c < csv->columns().size(); ++c) {
        const std::string& a = csv->rows()[r].cells[c];
        const std::string& b = xpt->rows()[r].cells[c];
        double x, y;  // the pandas CSV writes "54.0" where we write "54"
        if (a != b && !(absl::SimpleAtod(a, &x) && absl::SimpleAtod(b, &y) &&
                        x == y && absl::StrContains(a, "."))) {
          differing.insert(csv->columns()[c] + ": csv '" +
                           csv->rows()[r].cells[c] + "' xpt '" +
                           xpt->rows()[r].cells[c] + "'");
        }
      }
    }
    EXPECT_THAT(differing, ::testing::IsEmpty());
  }
}

}  // namespace
}  // namespace aesignal::cli::import
