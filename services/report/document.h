// The printed structure of a report: numbered sections, tables and figures,
// a contents page, and each table also as CSV. Knows HTML and CSV, not what
// a DSMB report contains (dsmb_report.h decides that).
//
// Output is a pure function of what was added, byte for byte: the report is
// content-hashed, so nothing here reads the clock or iterates in an order
// that could change between runs.
//
// Thread-compatible.
#ifndef AESIGNAL_SERVICES_REPORT_DOCUMENT_H_
#define AESIGNAL_SERVICES_REPORT_DOCUMENT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "aesignal/v1/safety_service.pb.h"

namespace aesignal::report {

// `text` with &, <, >, " and ' escaped for HTML text and attributes.
std::string HtmlEscape(absl::string_view text);
// One RFC 4180 field: quoted when it holds a comma, quote or line break.
std::string CsvField(absl::string_view text);

struct Table {
  // File stem of its CSV, e.g. "t05_ae_overview".
  std::string id = "";
  // Without the "Table N." prefix.
  std::string title = "";
  std::vector<std::string> header = {};
  std::vector<std::vector<std::string>> rows = {};
  // Rows (by index) printed as group headings (a SOC above its PTs).
  std::vector<bool> emphasized = {};
  // Printed under the table.
  std::string footnote = "";
  // Printed instead of an empty body.
  std::string empty_text = "None.";
};

struct Figure {
  std::string id = "";
  std::string title = "";
  // A complete <svg> element (charts.h).
  std::string svg = "";
  std::string caption = "";
};

class Document {
 public:
  // `banner` is printed at the top of every page (and of the screen view).
  Document(std::string title, std::string banner);

  // Starts section N+1; later tables, figures and text belong to it.
  void Section(absl::string_view heading);
  // Trusted HTML (callers escape what they interpolate).
  void Html(absl::string_view html);
  void Paragraph(absl::string_view text);  // escaped
  void Add(Table table);
  void Add(Figure figure);

  // The whole document: title page (`title_page_html`, trusted), contents,
  // lists of tables and figures, then the sections. `footer` is printed at
  // the bottom of every page beside "Page x of y".
  std::string Render(absl::string_view title_page_html,
                     absl::string_view footer) const;
  // Every table as CSV, in order.
  std::vector<v1::DsmbTable> Csv() const;

 private:
  struct Entry {
    int section = 0;
    std::string html = "";
  };
  std::string Contents() const;
  std::string TableHtml(const Table& table, int number) const;

  std::string title_;
  std::string banner_;
  std::vector<std::string> sections_;
  std::vector<Entry> body_;
  std::vector<Table> tables_;
  std::vector<std::string> figure_titles_;
};

}  // namespace aesignal::report

#endif  // AESIGNAL_SERVICES_REPORT_DOCUMENT_H_
