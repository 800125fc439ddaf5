// A tabular dataset (a CDISC domain such as ADSL or ADAE) read from CSV or SAS
// transport (XPORT, .xpt) into named columns of text cells, so that the
// mapping code sees the same strings whichever format the data came in.
//
// Example:
//   absl::StatusOr<Dataset> adsl = ReadDataset("adsl.xpt");
//   if (!adsl.ok()) return adsl.status();
//   int usubjid = adsl->Column("USUBJID");  // -1 if absent
//   for (const DatasetRow& row : adsl->rows()) use(row.cells[usubjid]);
//
// Cell text is normalised the same way for both formats:
//   - trailing blanks are removed (SAS pads character values);
//   - a missing value (SAS '.', an empty CSV cell) is "";
//   - XPT numbers: whole numbers without a decimal point ("54", not "54.0");
//     others with up to 6 decimals, trailing zeros removed; SAS "zeros" that
//     decode as ~5e-79 are 0;
//   - XPT numbers whose SAS format is a date format (DATE, YYMMDD, E8601DA,
//     MMDDYY, DDMMYY, ...) are written as ISO YYYY-MM-DD (SAS dates count
//     days from 1960-01-01); datetime formats (DATETIME, E8601DT) as
//     YYYY-MM-DDTHH:MM:SS. A numeric column without a format whose name ends
//     in "DT" is taken as a date too (some writers drop formats).
// So an ADaM dataset exported to CSV with ISO dates and read here as XPT gives
// identical cells.
//
// Row numbers (`line`) are file lines for CSV (the header is line 1) and, for
// XPT, the observation number + 1 — the line the row would have in a CSV
// export — so error messages point at the same row in both.
//
// Thread-compatible value type.
#ifndef AESIGNAL_CLIENTS_CLI_IMPORT_DATASET_H_
#define AESIGNAL_CLIENTS_CLI_IMPORT_DATASET_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aesignal::cli::import {

struct DatasetRow {
  int line = 0;
  std::vector<std::string> cells;  // one per column
};

class Dataset {
 public:
  Dataset() = default;
  // `columns` are the header names; every row has columns.size() cells.
  Dataset(std::string path, std::vector<std::string> columns,
          std::vector<DatasetRow> rows);

  // The file it was read from (for messages).
  const std::string& path() const { return path_; }
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<DatasetRow>& rows() const { return rows_; }

  // Index of the column named `name` (matched without regard to case), or -1.
  int Column(absl::string_view name) const;

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::map<std::string, int> index_;  // upper-case name -> column
  std::vector<DatasetRow> rows_;
};

// Reads `path`, by extension: .csv (RFC 4180, see clients/cli/csv.h) or .xpt
// (SAS transport v5/v8 via ReadStat). Errors: NOT_FOUND (cannot open),
// INVALID_ARGUMENT (unknown extension, malformed file, a CSV row with the
// wrong number of cells, duplicate column names, a cell that is not UTF-8) —
// the message names the file and line.
absl::StatusOr<Dataset> ReadDataset(const std::string& path);

// SAS date (days since 1960-01-01) as YYYY-MM-DD.
std::string SasDateToIso(double days);
// Text of an XPT number as described above (not for dates).
std::string FormatSasNumber(double value);
// Whether a SAS format name (e.g. "DATE9", "YYMMDD10.") is a date format, a
// datetime format, or neither.
enum class SasFormatKind { kOther, kDate, kDateTime };
SasFormatKind ClassifySasFormat(absl::string_view format);

}  // namespace aesignal::cli::import

#endif  // AESIGNAL_CLIENTS_CLI_IMPORT_DATASET_H_
