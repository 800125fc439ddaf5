#include "clients/cli/csv_mapping.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace aesignal::cli {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// "RELATEDNESS_" for enum Relatedness: the prefix of its zero value
// "RELATEDNESS_UNSPECIFIED" (AIP style), or "" if it has none.
std::string EnumPrefix(const EnumDescriptor* type) {
  const std::string& zero = type->value(0)->name();
  constexpr absl::string_view kUnspecified = "UNSPECIFIED";
  if (absl::EndsWith(zero, kUnspecified)) {
    return zero.substr(0, zero.size() - kUnspecified.size());
  }
  return "";
}

const EnumValueDescriptor* ParseEnum(const EnumDescriptor* type,
                                     absl::string_view cell) {
  std::string name = absl::AsciiStrToUpper(cell);
  for (char& c : name) {
    if (c == ' ' || c == '-') c = '_';
  }
  const std::string prefix = EnumPrefix(type);
  const EnumValueDescriptor* value = type->FindValueByName(name);
  if (value == nullptr) value = type->FindValueByName(prefix + name);
  if (value == nullptr || value->number() == 0) return nullptr;
  return value;
}

std::optional<bool> ParseBool(absl::string_view cell) {
  const std::string v = absl::AsciiStrToLower(cell);
  if (v == "y" || v == "yes" || v == "true" || v == "1") return true;
  if (v == "n" || v == "no" || v == "false" || v == "0") return false;
  return std::nullopt;
}

template <typename T>
std::optional<T> ParseInt(absl::string_view cell) {
  int64_t v;
  if (!absl::SimpleAtoi(cell, &v)) return std::nullopt;
  if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      (v > 0 && static_cast<uint64_t>(v) > std::numeric_limits<T>::max())) {
    return std::nullopt;
  }
  return static_cast<T>(v);
}

// Sets one singular (or appends one repeated) numeric value; returns the
// reason if `cell` is not a valid value of the field's type.
std::optional<std::string> SetNumber(const FieldDescriptor* field,
                                     absl::string_view cell, Message* message) {
  const Reflection* r = message->GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      auto v = ParseInt<int32_t>(cell);
      if (!v) {
        return absl::StrCat("'", cell,
                            "' is not an integer from -2147483648 "
                            "to 2147483647");
      }
      repeated ? r->AddInt32(message, field, *v)
               : r->SetInt32(message, field, *v);
      return std::nullopt;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      auto v = ParseInt<uint32_t>(cell);
      if (!v) {
        return absl::StrCat("'", cell,
                            "' is not an integer from 0 to 4294967295");
      }
      repeated ? r->AddUInt32(message, field, *v)
               : r->SetUInt32(message, field, *v);
      return std::nullopt;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      auto v = ParseInt<int64_t>(cell);
      if (!v) return absl::StrCat("'", cell, "' is not an integer");
      repeated ? r->AddInt64(message, field, *v)
               : r->SetInt64(message, field, *v);
      return std::nullopt;
    }
    default: {  // CPPTYPE_DOUBLE
      double v;
      if (!absl::SimpleAtod(cell, &v) || !std::isfinite(v)) {
        return absl::StrCat("'", cell, "' is not a finite number");
      }
      repeated ? r->AddDouble(message, field, v)
               : r->SetDouble(message, field, v);
      return std::nullopt;
    }
  }
}

// Sets one singular (or appends one repeated) scalar value; returns the
// reason if `cell` is not a valid value of the field's type.
std::optional<std::string> SetValue(const FieldDescriptor* field,
                                    absl::string_view cell, Message* message) {
  const Reflection* r = message->GetReflection();
  const bool repeated = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      repeated ? r->AddString(message, field, std::string(cell))
               : r->SetString(message, field, std::string(cell));
      return std::nullopt;
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return SetNumber(field, cell, message);
    case FieldDescriptor::CPPTYPE_BOOL: {
      auto v = ParseBool(cell);
      if (!v) return absl::StrCat("'", cell, "' is not Y/N or true/false");
      repeated ? r->AddBool(message, field, *v)
               : r->SetBool(message, field, *v);
      return std::nullopt;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* v = ParseEnum(field->enum_type(), cell);
      if (v == nullptr) {
        return absl::StrCat(
            "'", cell, "' is not one of: ", EnumChoices(field->enum_type()));
      }
      repeated ? r->AddEnum(message, field, v) : r->SetEnum(message, field, v);
      return std::nullopt;
    }
    default:
      return "this field cannot be set from CSV";
  }
}

}  // namespace

std::string EnumChoices(const EnumDescriptor* type) {
  const std::string prefix = EnumPrefix(type);
  std::vector<std::string> names;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() == 0) continue;
    names.push_back(absl::AsciiStrToLower(
        absl::StripPrefix(type->value(i)->name(), prefix)));
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<CsvMapping> CsvMapping::Create(
    const google::protobuf::Descriptor* descriptor,
    const std::vector<std::string>& header) {
  std::vector<const FieldDescriptor*> fields;
  std::set<const FieldDescriptor*> seen;
  std::vector<std::string> names;
  for (const std::string& raw : header) {
    const std::string column(absl::StripAsciiWhitespace(raw));
    const FieldDescriptor* field =
        descriptor->FindFieldByName(absl::AsciiStrToLower(column));
    if (field == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < descriptor->field_count(); ++i) {
        if (descriptor->field(i)->cpp_type() !=
            FieldDescriptor::CPPTYPE_MESSAGE) {
          known.push_back(descriptor->field(i)->name());
        }
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown column '", column, "' (columns of ", descriptor->name(),
          ": ", absl::StrJoin(known, ", "), ")"));
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ||
        (field->is_repeated() &&
         field->cpp_type() != FieldDescriptor::CPPTYPE_STRING)) {
      return absl::InvalidArgumentError(
          absl::StrCat("column '", column, "' cannot be set from CSV"));
    }
    if (!seen.insert(field).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("column '", column, "' appears twice"));
    }
    fields.push_back(field);
    names.push_back(column);
  }
  return CsvMapping(std::move(names), std::move(fields));
}

std::vector<CellError> CsvMapping::Fill(
    const std::vector<std::string>& cells,
    google::protobuf::Message* message) const {
  std::vector<CellError> errors;
  if (cells.size() != fields_.size()) {
    errors.push_back(
        {"", absl::StrCat("expected ", fields_.size(),
                          " fields as in the header, found ", cells.size())});
    return errors;
  }
  for (size_t i = 0; i < cells.size(); ++i) {
    const FieldDescriptor* field = fields_[i];
    absl::string_view cell = absl::StripAsciiWhitespace(cells[i]);
    if (cell.empty()) continue;
    if (field->is_repeated()) {
      for (absl::string_view item : absl::StrSplit(cell, absl::ByAnyChar(";|"),
                                                   absl::SkipWhitespace())) {
        auto reason =
            SetValue(field, absl::StripAsciiWhitespace(item), message);
        if (reason) errors.push_back({header_[i], *reason});
      }
      continue;
    }
    if (auto reason = SetValue(field, cell, message)) {
      errors.push_back({header_[i], *reason});
    }
  }
  return errors;
}

}  // namespace aesignal::cli
