#include "services/http/binding.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/errors/errors.h"
#include "services/http/json.h"

namespace aesignal::http {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The one request field that holds a secret (GenerateDsmbReportRequest's
// coding key): refused in a URL, and never quoted back in an error.
constexpr absl::string_view kSecretField = "coding_key";

absl::Status Violation(std::string field, std::string description) {
  return errors::InvalidArgument(ValidUtf8(field), ValidUtf8(description));
}

// The API's strings are UTF-8; a percent-decoded path or query value that is
// not is refused here rather than carried into a request message.
absl::Status RequireUtf8(const std::string& param, absl::string_view value) {
  if (IsValidUtf8(value)) return absl::OkStatus();
  return Violation(param, "is not valid UTF-8 once percent-decoded");
}

// The field of `type` called `name` (proto name or JSON name).
const FieldDescriptor* FieldNamed(const Descriptor& type,
                                  absl::string_view name) {
  const std::string key(name);
  if (const FieldDescriptor* field = type.FindFieldByName(key)) return field;
  for (int i = 0; i < type.field_count(); ++i) {
    if (type.field(i)->json_name() == key) return type.field(i);
  }
  return nullptr;
}

bool IsWellKnownLeaf(const FieldDescriptor& field) {
  if (field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return false;
  return absl::StartsWith(field.message_type()->full_name(),
                          "google.protobuf.");
}

// Parses one JSON string value (a Timestamp, Duration, FieldMask or wrapper)
// into `message`.
absl::Status SetWellKnown(const std::string& param, absl::string_view value,
                          Message* message) {
  std::string quoted;
  google::protobuf::util::JsonParseOptions options;
  const std::string json = absl::StrCat(
      "\"", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
  if (!google::protobuf::util::JsonStringToMessage(json, message, options)
           .ok()) {
    return Violation(
        param, absl::StrCat("not a valid ", message->GetDescriptor()->name(),
                            ": '", value, "'"));
  }
  return absl::OkStatus();
}

absl::Status SetEnum(const std::string& param, const FieldDescriptor& field,
                     absl::string_view value, Message* message) {
  const auto* type = field.enum_type();
  const auto* named = type->FindValueByName(std::string(value));
  int number = 0;
  if (named == nullptr && absl::SimpleAtoi(value, &number)) {
    named = type->FindValueByNumber(number);
  }
  if (named == nullptr) {
    // The wording gRPC's requests get for an undefined number (docs/api.md):
    // the value, the type and its names.
    const bool is_number = absl::SimpleAtoi(value, &number);
    return Violation(
        param, errors::NotAnEnumValue(is_number ? std::string(value)
                                                : absl::StrCat("'", value, "'"),
                                      *type));
  }
  const Reflection& r = *message->GetReflection();
  if (field.is_repeated()) {
    r.AddEnumValue(message, &field, named->number());
  } else {
    r.SetEnumValue(message, &field, named->number());
  }
  return absl::OkStatus();
}

// Parses `value` as T with `parse`, then adds or sets it.
template <typename T, typename Parse, typename Set, typename Add>
absl::Status SetParsed(const std::string& param, absl::string_view value,
                       absl::string_view kind, const FieldDescriptor& field,
                       Parse parse, Set set, Add add) {
  T parsed{};
  if (!parse(value, &parsed)) {
    return Violation(param, absl::StrCat("'", value, "' is not ", kind));
  }
  field.is_repeated() ? add(parsed) : set(parsed);
  return absl::OkStatus();
}

absl::Status SetNumber(const std::string& param, const FieldDescriptor& f,
                       absl::string_view v, Message* m) {
  const Reflection& r = *m->GetReflection();
  const auto* fp = &f;
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return SetParsed<int32_t>(
          param, v, "a 32-bit integer", f,
          [](absl::string_view s, int32_t* o) {
            return absl::SimpleAtoi(s, o);
          },
          [&](int32_t x) { r.SetInt32(m, fp, x); },
          [&](int32_t x) { r.AddInt32(m, fp, x); });
    case FieldDescriptor::CPPTYPE_INT64:
      return SetParsed<int64_t>(
          param, v, "an integer", f,
          [](absl::string_view s, int64_t* o) {
            return absl::SimpleAtoi(s, o);
          },
          [&](int64_t x) { r.SetInt64(m, fp, x); },
          [&](int64_t x) { r.AddInt64(m, fp, x); });
    case FieldDescriptor::CPPTYPE_UINT32:
      return SetParsed<uint32_t>(
          param, v, "an unsigned 32-bit integer", f,
          [](absl::string_view s, uint32_t* o) {
            return absl::SimpleAtoi(s, o);
          },
          [&](uint32_t x) { r.SetUInt32(m, fp, x); },
          [&](uint32_t x) { r.AddUInt32(m, fp, x); });
    case FieldDescriptor::CPPTYPE_UINT64:
      return SetParsed<uint64_t>(
          param, v, "an unsigned integer", f,
          [](absl::string_view s, uint64_t* o) {
            return absl::SimpleAtoi(s, o);
          },
          [&](uint64_t x) { r.SetUInt64(m, fp, x); },
          [&](uint64_t x) { r.AddUInt64(m, fp, x); });
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return SetParsed<double>(
          param, v, "a number", f,
          [](absl::string_view s, double* o) { return absl::SimpleAtod(s, o); },
          [&](double x) { r.SetDouble(m, fp, x); },
          [&](double x) { r.AddDouble(m, fp, x); });
    case FieldDescriptor::CPPTYPE_FLOAT:
      return SetParsed<float>(
          param, v, "a number", f,
          [](absl::string_view s, float* o) { return absl::SimpleAtof(s, o); },
          [&](float x) { r.SetFloat(m, fp, x); },
          [&](float x) { r.AddFloat(m, fp, x); });
    default:
      return Violation(param, "unsupported field type");
  }
}

bool ParseBool(absl::string_view s, bool* out) {
  if (s == "true" || s == "1") return *out = true, true;
  if (s == "false" || s == "0") return *out = false, true;
  return false;
}

// Sets (or, if repeated, adds) the scalar `field` of `message` from text.
absl::Status SetScalar(const std::string& param, const FieldDescriptor& field,
                       absl::string_view value, Message* message) {
  const Reflection& r = *message->GetReflection();
  const auto* fp = &field;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_ENUM:
      return SetEnum(param, field, value, message);
    case FieldDescriptor::CPPTYPE_BOOL:
      return SetParsed<bool>(
          param, value, "true or false", field, ParseBool,
          [&](bool x) { r.SetBool(message, fp, x); },
          [&](bool x) { r.AddBool(message, fp, x); });
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string text(value);
      if (field.type() == FieldDescriptor::TYPE_BYTES &&
          !absl::WebSafeBase64Unescape(value, &text) &&
          !absl::Base64Unescape(value, &text)) {
        return Violation(param, "not base64");
      }
      field.is_repeated() ? r.AddString(message, fp, std::move(text))
                          : r.SetString(message, fp, std::move(text));
      return absl::OkStatus();
    }
    default:
      return SetNumber(param, field, value, message);
  }
}

// The top-level fields the body or the path variables already bind; a
// query parameter may not set them again.
struct Bound {
  std::vector<std::string> paths;
  bool whole_message = false;
};

bool IsBound(const Bound& bound, absl::string_view param_path) {
  if (bound.whole_message) return true;
  for (const std::string& path : bound.paths) {
    if (param_path == path || absl::StartsWith(param_path, path + ".") ||
        absl::StartsWith(path, absl::StrCat(param_path, "."))) {
      return true;
    }
  }
  return false;
}

// Resolves a dotted field path; *leaf is the message holding the last field.
absl::StatusOr<const FieldDescriptor*> Resolve(const std::string& param,
                                               Message* root, Message** leaf,
                                               std::string* proto_path) {
  Message* message = root;
  const std::vector<absl::string_view> parts = absl::StrSplit(param, '.');
  proto_path->clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field =
        FieldNamed(*message->GetDescriptor(), parts[i]);
    if (field == nullptr) {
      return Violation(param, "unknown parameter");
    }
    absl::StrAppend(proto_path, i ? "." : "", field->name());
    if (i + 1 == parts.size()) {
      *leaf = message;
      return field;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        field->is_repeated() || IsWellKnownLeaf(*field)) {
      return Violation(param,
                       absl::StrCat("'", parts[i], "' has no fields to set"));
    }
    message = message->GetReflection()->MutableMessage(message, field);
  }
  return Violation(param, "empty parameter name");
}

absl::Status SetParameter(const std::string& param, absl::string_view value,
                          const Bound& bound, Message* request,
                          std::vector<std::string>* seen) {
  Message* leaf = nullptr;
  std::string path;
  AESIGNAL_ASSIGN_OR_RETURN(const FieldDescriptor* field,
                            Resolve(param, request, &leaf, &path));
  if (IsBound(bound, path)) {
    return Violation(param, "is set by the path or the body, not the query");
  }
  // A secret in a URL ends in proxy logs and browser history.
  if (path == kSecretField) {
    return Violation(param,
                     "is a secret and is refused in a URL: POST the request "
                     "as JSON to /v1/trials/{trial_id}/dsmbReport:generate");
  }
  if (!field->is_repeated()) {
    if (std::find(seen->begin(), seen->end(), path) != seen->end()) {
      return Violation(param, "given more than once");
    }
    seen->push_back(path);
  }
  if (IsWellKnownLeaf(*field) && !field->is_repeated()) {
    return SetWellKnown(param, value,
                        leaf->GetReflection()->MutableMessage(leaf, field));
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return Violation(param,
                     "is a message; set its fields as " + param + ".FIELD");
  }
  return SetScalar(param, *field, value, leaf);
}

absl::Status BindQuery(absl::string_view query, const Bound& bound,
                       Message* request) {
  std::vector<std::string> seen;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    const std::string raw_key(pair.substr(0, eq));
    const std::string raw_value(eq == pair.npos ? "" : pair.substr(eq + 1));
    auto key = PercentDecode(absl::StrReplaceAll(raw_key, {{"+", " "}}));
    auto value = PercentDecode(absl::StrReplaceAll(raw_value, {{"+", " "}}));
    if (!key.ok())
      return Violation("query", std::string(key.status().message()));
    if (!value.ok()) {
      return Violation(*key, std::string(value.status().message()));
    }
    AESIGNAL_RETURN_IF_ERROR(RequireUtf8("query", *key));
    AESIGNAL_RETURN_IF_ERROR(RequireUtf8(*key, *value));
    AESIGNAL_RETURN_IF_ERROR(SetParameter(*key, *value, bound, request, &seen));
  }
  return absl::OkStatus();
}

bool IsJson(absl::string_view content_type) {
  const absl::string_view media = absl::StripAsciiWhitespace(
      content_type.substr(0, content_type.find(';')));
  return absl::EqualsIgnoreCase(media, "application/json");
}

// The field a JSON parse error of protobuf 3.21 names, as a field-violation
// path, or "" when it names none (malformed JSON). Its messages read
// "(reports[1]) serius: Cannot find field." for an unknown key and
// "(reports[0].grade): invalid value ..." for a value of the wrong type,
// with the path in proto field names, as the API's other violations have
// them. `prefix` is the request field the body binds ("" for the whole
// request).
std::string JsonErrorField(absl::string_view message,
                           absl::string_view prefix) {
  absl::string_view path;
  absl::string_view key;
  if (absl::ConsumePrefix(&message, "(")) {
    const size_t close = message.find(')');
    if (close == absl::string_view::npos) return "";
    path = message.substr(0, close);
    message.remove_prefix(close + 1);
    if (!absl::ConsumePrefix(&message, ":")) {
      absl::ConsumePrefix(&message, " ");
      key = absl::ConsumeSuffix(&message, ": Cannot find field.")
                ? message
                : message.substr(0, message.find(':'));
    }
  } else if (absl::ConsumeSuffix(&message, ": Cannot find field.")) {
    key = message;  // a key may hold ':' itself
  }
  std::vector<absl::string_view> parts;
  for (absl::string_view part : {prefix, path, key}) {
    if (!part.empty()) parts.push_back(part);
  }
  if (parts.size() == (prefix.empty() ? 0 : 1)) return "";
  return absl::StrJoin(parts, ".");
}

// Parses the body into the route's body field (or the whole request).
absl::Status BindBody(const Route& route, const HttpInput& input,
                      Message* request, Bound* bound) {
  const bool empty = absl::StripAsciiWhitespace(input.body).empty();
  if (route.body.empty()) {
    if (!empty) return Violation("body", "this method takes no request body");
    return absl::OkStatus();
  }
  if (!empty && !IsJson(input.content_type)) {
    return Violation("Content-Type", "the body must be application/json");
  }
  Message* target = request;
  if (route.body == "*") {
    bound->whole_message = true;
  } else {
    const FieldDescriptor* field =
        request->GetDescriptor()->FindFieldByName(std::string(route.body));
    target = request->GetReflection()->MutableMessage(request, field);
    bound->paths.emplace_back(route.body);
  }
  if (empty) return absl::OkStatus();
  if (std::optional<std::string> repeated = RepeatedJsonKey(input.body)) {
    return Violation(route.body == "*"
                         ? *repeated
                         : absl::StrCat(route.body, ".", *repeated),
                     "given more than once in the body");
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(input.body.data(), input.body.size()),
      target, options);
  if (!parsed.ok()) {
    const std::string field = JsonErrorField(
        parsed.message().ToString(), route.body == "*" ? "" : route.body);
    // The parser quotes the offending value, or the text around a syntax
    // error, which may be a secret the message carries.
    const bool secret = target->GetDescriptor()->FindFieldByName(
                            std::string(kSecretField)) != nullptr;
    return Violation(
        field.empty() ? "body" : field,
        absl::StrCat("invalid JSON for ", target->GetDescriptor()->name(),
                     secret ? " (the parser's text is left out: it may quote "
                              "the coding key)"
                            : absl::StrCat(": ", parsed.message().ToString())));
  }
  return absl::OkStatus();
}

// Sets the string field at dotted proto path `path` (a path variable).
absl::Status BindVariable(const std::string& path, const std::string& value,
                          Message* request, Bound* bound) {
  AESIGNAL_RETURN_IF_ERROR(RequireUtf8(path, value));
  Message* leaf = nullptr;
  std::string proto_path;
  AESIGNAL_ASSIGN_OR_RETURN(const FieldDescriptor* field,
                            Resolve(path, request, &leaf, &proto_path));
  // The body may repeat the field, but not contradict the URL: reports
  // POSTed to one trial's URL with another trial in the body went to the
  // URL's trial without a word.
  const std::string in_body = leaf->GetReflection()->GetString(*leaf, field);
  if (!in_body.empty() && in_body != value) {
    return Violation(path,
                     absl::StrCat("is '", in_body, "' in the body but '", value,
                                  "' in the URL: leave it out of the "
                                  "body, or give the same"));
  }
  leaf->GetReflection()->SetString(leaf, field, value);
  bound->paths.push_back(proto_path);
  return absl::OkStatus();
}

// A field path as the JSON mapping of a FieldMask can carry it: dotted
// lower_snake_case names (a letter after each underscore), or "*".
bool IsFieldPath(absl::string_view path) {
  if (path == "*") return true;
  for (absl::string_view name : absl::StrSplit(path, '.')) {
    if (name.empty() || !absl::ascii_islower(name[0]) || name.back() == '_') {
      return false;
    }
    for (size_t i = 0; i < name.size(); ++i) {
      const char c = name[i];
      if (c == '_' ? !absl::ascii_islower(name[i + 1])
                   : !absl::ascii_islower(c) && !absl::ascii_isdigit(c)) {
        return false;
      }
    }
  }
  return true;
}

// Whether `path` reads back as itself from its JSON form (lowerCamelCase).
// Not every lower_snake_case path does: one-letter words make capital runs
// whose word breaks the parser guesses ("ti_m_l_tle" prints as "tiMLTle",
// which reads back as another path; found by the HTTP fuzz target).
bool SurvivesJson(const std::string& path) {
  google::protobuf::FieldMask mask;
  mask.add_paths(path);
  std::string json;
  google::protobuf::FieldMask again;
  return google::protobuf::util::MessageToJsonString(mask, &json).ok() &&
         google::protobuf::util::JsonStringToMessage(json, &again).ok() &&
         again.paths_size() == 1 && again.paths(0) == path;
}

// Every path of the request's top-level FieldMasks (UpdateTrial's
// update_mask) is a field path that the JSON mapping carries unchanged:
// other strings (a mask from a query string or a body may hold anything)
// would not survive it.
absl::Status CheckFieldMasks(const Message& request) {
  const Descriptor& type = *request.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (field.is_repeated() ||
        field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        field.message_type()->full_name() != "google.protobuf.FieldMask" ||
        !request.GetReflection()->HasField(request, &field)) {
      continue;
    }
    const Message& mask = request.GetReflection()->GetMessage(request, &field);
    const FieldDescriptor* paths =
        mask.GetDescriptor()->FindFieldByName("paths");
    for (int p = 0; p < mask.GetReflection()->FieldSize(mask, paths); ++p) {
      const std::string path =
          mask.GetReflection()->GetRepeatedString(mask, paths, p);
      if (!IsFieldPath(path) || !SurvivesJson(path)) {
        return Violation(field.name(),
                         absl::StrCat("'", path, "' is not a field path"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BindRequest(const RouteMatch& match, const HttpInput& input,
                         Message* request) {
  Bound bound;
  AESIGNAL_RETURN_IF_ERROR(BindBody(*match.route, input, request, &bound));
  // The path sets the field; a body's `name` or `parent` may only repeat it.
  for (const auto& [path, value] : match.variables) {
    AESIGNAL_RETURN_IF_ERROR(BindVariable(path, value, request, &bound));
  }
  AESIGNAL_RETURN_IF_ERROR(BindQuery(input.query, bound, request));
  return CheckFieldMasks(*request);
}

}  // namespace aesignal::http
