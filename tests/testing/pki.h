// Test certificates made per run with the openssl command line: a CA, a
// server certificate for 127.0.0.1/localhost, client certificates
// "site-02-cert" and "nobody" from that CA, and "rogue" (CN site-02-cert)
// from another CA. Shared by the gRPC and HTTP security tests.
#ifndef AESIGNAL_TESTS_TESTING_PKI_H_
#define AESIGNAL_TESTS_TESTING_PKI_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace aesignal::testing {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

class Pki {
 public:
  explicit Pki(const std::string& dir) : dir_(dir) {}

  bool Make() {
    Write(dir_ + "/server.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    return Run("openssl req -x509 -newkey ec -pkeyopt "
               "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out "
               "ca.pem -days 2 -subj /CN=aesignal-test-ca") &&
           Run("openssl req -x509 -newkey ec -pkeyopt "
               "ec_paramgen_curve:prime256v1 -nodes -keyout rogue-ca.key "
               "-out rogue-ca.pem -days 2 -subj /CN=rogue-ca") &&
           Issue("server", "localhost", "ca", "-extfile server.ext") &&
           Issue("site-02-cert", "site-02-cert", "ca", "") &&
           Issue("nobody", "nobody", "ca", "") &&
           Issue("rogue", "site-02-cert", "rogue-ca", "");
  }
  std::string Path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  bool Run(const std::string& command) const {
    const std::string full =
        absl::StrCat("cd '", dir_, "' && ", command, " >openssl.log 2>&1");
    return std::system(full.c_str()) == 0;
  }
  bool Issue(const std::string& name, const std::string& cn,
             const std::string& ca, const std::string& extra) const {
    return Run(absl::StrCat(
               "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
               "-nodes -keyout ",
               name, ".key -out ", name, ".csr -subj /CN=", cn)) &&
           Run(absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ", ca,
                            ".pem -CAkey ", ca, ".key -CAcreateserial -out ",
                            name, ".pem -days 2 ", extra));
  }
  std::string dir_;
};

}  // namespace aesignal::testing

#endif  // AESIGNAL_TESTS_TESTING_PKI_H_
