// `aesignal health` and `aesignal admin backup|verify|new-token`: operating
// the server.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "clients/cli/commands.h"
#include "google/protobuf/util/time_util.h"

namespace aesignal::cli {
namespace {

int Health(CommandContext& ctx) {
  auto serving = ctx.MakeClient().connection().CheckHealth();
  if (!serving.ok()) {
    ctx.io.err << "aesignal: " << serving.status() << "\n";
    return kExitFailed;
  }
  ctx.io.out << (*serving ? "SERVING" : "NOT_SERVING") << "\n";
  return *serving ? kExitOk : kExitFailed;
}

// Lowercase hex of sha256(data): the server stores tokens as
// "SALT:sha256hex(SALT + token)" (see docs/operations.md).
std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

absl::StatusOr<std::string> RandomHex(int bytes) {
  std::string buffer(static_cast<size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buffer.data()), bytes) != 1) {
    return absl::UnavailableError("RAND_bytes failed");
  }
  return absl::BytesToHexString(buffer);
}

struct NewTokenFlags {
  std::string name, role;
  std::vector<std::string> sites;
};

// `text` as a YAML double-quoted scalar: a name with ": " or a site id with
// " #" would otherwise change the entry's meaning, and "01" must stay text.
std::string YamlQuoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// 32 random bytes, hex: the token; a random 8-byte hex salt; prints the token
// once (to give to the principal) and its YAML entry for the server.
int AdminNewToken(CommandContext& ctx, const NewTokenFlags& f) {
  if (f.role == "site" && f.sites.empty()) {
    ctx.io.err << "aesignal: --site: a site principal needs its site_ids\n";
    return kExitUsage;
  }
  auto token = RandomHex(32);
  auto salt = RandomHex(8);
  if (!token.ok() || !salt.ok()) {
    ctx.io.err << "aesignal: no random bytes available\n";
    return kExitFailed;
  }
  const std::string name = YamlQuoted(f.name);
  ctx.io.out << "# token for " << name
             << " (shown once; give it to them, e.g. as AESIGNAL_TOKEN):\n# "
             << *token << "\n# entry for aesignald --principals:\n"
             << "- name: " << name << "\n  role: " << f.role << "\n";
  if (!f.sites.empty()) {
    std::vector<std::string> sites;
    for (const std::string& site : f.sites) sites.push_back(YamlQuoted(site));
    ctx.io.out << "  sites: [" << absl::StrJoin(sites, ", ") << "]\n";
  }
  ctx.io.out << "  token_sha256: \"" << *salt << ":"
             << Sha256Hex(*salt + *token) << "\"\n";
  return kExitOk;
}

int AdminBackup(CommandContext& ctx, const std::string& destination) {
  v1::CreateBackupRequest request;
  request.set_destination(destination);
  auto backup = ctx.MakeClient().connection().CreateBackup(request);
  if (!backup.ok()) {
    PrintStatus(ctx.io.err, backup.status());
    return kExitFailed;
  }
  ctx.io.out << "backup written to " << backup->destination() << " at "
             << google::protobuf::util::TimeUtil::ToString(
                    backup->create_time())
             << " (restore: aesignald --restore_from=" << backup->destination()
             << " --data_dir=NEW_EMPTY_DIR)\n";
  return kExitOk;
}

int AdminVerify(CommandContext& ctx, const std::string& trial_id) {
  v1::VerifyTrialRequest request;
  request.set_name(client::TrialName(trial_id));
  auto verified = ctx.MakeClient().connection().VerifyTrial(request);
  if (!verified.ok()) {
    PrintStatus(ctx.io.err, verified.status());
    return kExitFailed;
  }
  ctx.io.out << "trial " << trial_id << ": " << verified->result() << "\n";
  return kExitOk;
}

void AddBackup(CLI::App& admin, CommandContext& ctx) {
  auto dest = std::make_shared<std::string>();
  auto* backup = admin.add_subcommand(
      "backup", "consistent backup of the whole store, while serving");
  backup
      ->add_option("--dest", *dest, "new directory on the server's filesystem")
      ->required();
  SetAction(backup, ctx, [&ctx, dest] { return AdminBackup(ctx, *dest); });
}

void AddVerify(CLI::App& admin, CommandContext& ctx) {
  auto trial = std::make_shared<std::string>();
  auto* verify = admin.add_subcommand(
      "verify", "recount a trial's counters from its reports and compare");
  verify->add_option("--trial", *trial, "trial id")->required();
  SetAction(verify, ctx, [&ctx, trial] { return AdminVerify(ctx, *trial); });
}

void AddNewToken(CLI::App& admin, CommandContext& ctx) {
  auto f = std::make_shared<NewTokenFlags>();
  auto* new_token = admin.add_subcommand(
      "new-token",
      "make a random bearer token and the principal entry (salted hash) "
      "for aesignald --principals; offline");
  new_token->add_option("--name", f->name, "principal name")->required();
  new_token->add_option("--role", f->role)
      ->required()
      ->check(
          CLI::IsMember({"site", "safety_officer", "dsmb_member", "admin"}));
  new_token->add_option("--site", f->sites,
                        "site_id the principal may write (role site; "
                        "repeatable)");
  // Offline: it only makes random bytes, so no server or credentials.
  new_token->callback([&ctx, f] {
    ctx.offline = true;
    ctx.action = [&ctx, f] { return AdminNewToken(ctx, *f); };
  });
}

}  // namespace

void AddHealthCommand(CLI::App& app, CommandContext& ctx) {
  auto* health = app.add_subcommand(
      "health",
      "is the server serving? exit 0 if SERVING, 1 if not or unreachable "
      "(grpc.health.v1; needs no token)");
  SetAction(health, ctx, [&ctx] { return Health(ctx); });
}

void AddAdminCommands(CLI::App& app, CommandContext& ctx) {
  auto* admin = app.add_subcommand("admin", "backups, verification and tokens");
  admin->require_subcommand(1);
  AddBackup(*admin, ctx);
  AddVerify(*admin, ctx);
  AddNewToken(*admin, ctx);
}

}  // namespace aesignal::cli
