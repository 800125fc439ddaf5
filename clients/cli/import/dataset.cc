#include "clients/cli/import/dataset.h"

#include <readstat.h>

#include <cmath>
#include <fstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "clients/cli/csv.h"

namespace aesignal::cli::import {
namespace {

std::string StripTrailing(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

absl::StatusOr<Dataset> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  CsvReader reader(in);
  auto header = reader.Next();
  if (!header.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", header.status().message()));
  }
  if (!header->has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":1: empty file (a header line is required)"));
  }
  std::vector<std::string> columns;
  for (auto& name : (*header)->fields) {
    columns.push_back(StripTrailing(std::string(
        absl::StripAsciiWhitespace(absl::StripPrefix(name, "\xEF\xBB\xBF")))));
  }
  std::vector<DatasetRow> rows;
  while (true) {
    auto record = reader.Next();
    if (!record.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", record.status().message()));
    }
    if (!record->has_value()) break;
    CsvRecord& r = **record;
    if (r.fields.size() != columns.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", r.line, ": ", r.fields.size(),
                       " cells, but the header has ", columns.size()));
    }
    DatasetRow row{.line = r.line, .cells = {}};
    row.cells.reserve(r.fields.size());
    for (auto& f : r.fields) row.cells.push_back(StripTrailing(std::move(f)));
    rows.push_back(std::move(row));
  }
  return Dataset(path, std::move(columns), std::move(rows));
}

struct XptContext {
  std::vector<std::string> columns;
  std::vector<SasFormatKind> kinds;
  std::vector<DatasetRow> rows;
};

int OnXptVariable(int index, readstat_variable_t* variable,
                  const char* /*val_labels*/, void* ctx_ptr) {
  auto* ctx = static_cast<XptContext*>(ctx_ptr);
  const char* name = readstat_variable_get_name(variable);
  const char* format = readstat_variable_get_format(variable);
  std::string column = name == nullptr ? "" : name;
  SasFormatKind kind =
      ClassifySasFormat(format == nullptr ? absl::string_view() : format);
  if (readstat_variable_get_type_class(variable) !=
      READSTAT_TYPE_CLASS_NUMERIC) {
    kind = SasFormatKind::kOther;
  } else if (kind == SasFormatKind::kOther &&
             (format == nullptr || *format == '\0') &&
             absl::EndsWithIgnoreCase(column, "DT")) {
    kind = SasFormatKind::kDate;
  }
  if (static_cast<size_t>(index) >= ctx->columns.size()) {
    ctx->columns.resize(index + 1);
    ctx->kinds.resize(index + 1);
  }
  ctx->columns[index] = column;
  ctx->kinds[index] = kind;
  return READSTAT_HANDLER_OK;
}

int OnXptValue(int obs_index, readstat_variable_t* variable,
               readstat_value_t value, void* ctx_ptr) {
  auto* ctx = static_cast<XptContext*>(ctx_ptr);
  const int column = readstat_variable_get_index(variable);
  if (obs_index < 0 || column < 0 ||
      static_cast<size_t>(column) >= ctx->columns.size()) {
    return READSTAT_HANDLER_ABORT;
  }
  while (ctx->rows.size() <= static_cast<size_t>(obs_index)) {
    DatasetRow row;
    row.line = static_cast<int>(ctx->rows.size()) + 2;
    row.cells.resize(ctx->columns.size());
    ctx->rows.push_back(std::move(row));
  }
  std::string& cell = ctx->rows[obs_index].cells[column];
  if (readstat_value_is_missing(value, variable)) {
    cell.clear();
    return READSTAT_HANDLER_OK;
  }
  if (readstat_value_type(value) == READSTAT_TYPE_STRING) {
    const char* s = readstat_string_value(value);
    cell = StripTrailing(s == nullptr ? "" : s);
    return READSTAT_HANDLER_OK;
  }
  const double v = readstat_double_value(value);
  switch (ctx->kinds[column]) {
    case SasFormatKind::kDate:
      cell = SasDateToIso(v);
      break;
    case SasFormatKind::kDateTime: {
      const auto seconds = static_cast<int64_t>(std::floor(v));
      cell = absl::FormatCivilTime(absl::CivilSecond(1960, 1, 1, 0, 0, 0) +
                                   seconds);
      break;
    }
    case SasFormatKind::kOther:
      cell = FormatSasNumber(v);
      break;
  }
  return READSTAT_HANDLER_OK;
}

absl::StatusOr<Dataset> ReadXpt(const std::string& path) {
  {
    std::ifstream probe(path);
    if (!probe) {
      return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
    }
  }
  XptContext ctx;
  readstat_parser_t* parser = readstat_parser_init();
  readstat_set_variable_handler(parser, &OnXptVariable);
  readstat_set_value_handler(parser, &OnXptValue);
  const readstat_error_t error =
      readstat_parse_xport(parser, path.c_str(), &ctx);
  readstat_parser_free(parser);
  if (error != READSTAT_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a readable SAS transport file: ",
                     readstat_error_message(error)));
  }
  for (auto& row : ctx.rows) row.cells.resize(ctx.columns.size());
  // XPT text has no declared encoding (CsvReader checks CSV as it reads): a
  // Latin-1 cell would reach the server as a message it cannot parse.
  for (const DatasetRow& row : ctx.rows) {
    for (size_t i = 0; i < row.cells.size(); ++i) {
      if (!IsUtf8(row.cells[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", row.line, ": ",
                         NotUtf8Reason(ctx.columns[i], row.cells[i])));
      }
    }
  }
  return Dataset(path, std::move(ctx.columns), std::move(ctx.rows));
}

}  // namespace

Dataset::Dataset(std::string path, std::vector<std::string> columns,
                 std::vector<DatasetRow> rows)
    : path_(std::move(path)),
      columns_(std::move(columns)),
      rows_(std::move(rows)) {
  for (size_t i = 0; i < columns_.size(); ++i) {
    index_.emplace(absl::AsciiStrToUpper(columns_[i]), static_cast<int>(i));
  }
}

int Dataset::Column(absl::string_view name) const {
  auto it = index_.find(absl::AsciiStrToUpper(name));
  return it == index_.end() ? -1 : it->second;
}

std::string SasDateToIso(double days) {
  const auto d = static_cast<int64_t>(std::floor(days));
  return absl::FormatCivilTime(absl::CivilDay(1960, 1, 1) + d);
}

std::string FormatSasNumber(double value) {
  if (std::fabs(value) < 1e-70) return "0";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  std::string text = absl::StrFormat("%.6f", value);
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  return text;
}

SasFormatKind ClassifySasFormat(absl::string_view format) {
  std::string f = absl::AsciiStrToUpper(format);
  // Drop the width / decimals: "DATE9." -> "DATE", "YYMMDD10" -> "YYMMDD".
  while (!f.empty() &&
         (absl::ascii_isdigit(static_cast<unsigned char>(f.back())) ||
          f.back() == '.')) {
    f.pop_back();
  }
  for (absl::string_view dt :
       {"DATETIME", "E8601DT", "IS8601DT", "B8601DT", "DATEAMPM", "MDYAMPM"}) {
    if (f == dt) return SasFormatKind::kDateTime;
  }
  for (absl::string_view d :
       {"DATE",    "YYMMDD",   "YYMMDDN",  "YYMMDDD", "YYMMDDS", "YYMMDDP",
        "E8601DA", "IS8601DA", "B8601DA",  "MMDDYY",  "MMDDYYN", "MMDDYYD",
        "MMDDYYS", "DDMMYY",   "DDMMYYN",  "DDMMYYD", "DDMMYYS", "DDMMYYP",
        "EURDFDE", "WORDDATE", "WEEKDATE", "MONYY",   "YYMON",   "NLDATE"}) {
    if (f == d) return SasFormatKind::kDate;
  }
  return SasFormatKind::kOther;
}

absl::StatusOr<Dataset> ReadDataset(const std::string& path) {
  absl::StatusOr<Dataset> ds;
  if (absl::EndsWithIgnoreCase(path, ".csv")) {
    ds = ReadCsv(path);
  } else if (absl::EndsWithIgnoreCase(path, ".xpt")) {
    ds = ReadXpt(path);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": unknown dataset format (expected a .csv or .xpt file)"));
  }
  if (!ds.ok()) return ds;
  for (size_t i = 0; i < ds->columns().size(); ++i) {
    const std::string& name = ds->columns()[i];
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":1: column ", i + 1, " has no name"));
    }
    if (ds->Column(name) != static_cast<int>(i)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":1: column '", name,
                       "' appears twice (names are compared "
                       "without regard to case)"));
    }
  }
  return ds;
}

}  // namespace aesignal::cli::import
