// Uses the installed aesignal SDK: builds a report with the installed proto
// headers and calls a server that is not there, expecting UNAVAILABLE.
#include <iostream>

#include "aesignal/client/client.h"
#include "aesignal/client/report_streamer.h"
#include "aesignal/client/status.h"
#include "aesignal/v1/report.pb.h"

int main(int argc, char** argv) {
  aesignal::client::ConnectionOptions options;
  options.target = argc > 1 ? argv[1] : "127.0.0.1:1";
  options.call_timeout = absl::Seconds(5);
  options.max_attempts = 1;
  aesignal::client::Client client(
      aesignal::client::MakeClientConnection(options));

  aesignal::v1::AdverseEventReport report;
  report.set_report_id("AE-1");
  report.set_version(1);
  auto submitted = client.SubmitReports("NCT0", {report});
  if (submitted.status().code() != absl::StatusCode::kUnavailable) {
    std::cerr << "expected UNAVAILABLE, got " << submitted.status() << "\n";
    return 1;
  }
  std::cout << "consumer ok: " << submitted.status() << "\n";
  return 0;
}
