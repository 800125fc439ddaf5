#include "services/report/document.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "services/report/charts.h"

namespace aesignal::report {
namespace {

// A CSS string literal holding `text` (for @page margin boxes).
std::string CssString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (c == '<') {
      out += "\\3C ";  // never closes the <style> element
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

// Printed on A4 (Letter fits too); the margin boxes repeat the session
// banner, the source line and "Page x of y" on every printed page.
std::string Style(absl::string_view banner, absl::string_view footer) {
  return absl::StrCat(
      "@page{size:A4;margin:20mm 14mm 18mm 14mm;"
      "@top-center{content:",
      CssString(banner),
      ";font:bold 9pt sans-serif;color:#a00}"
      "@bottom-left{content:",
      CssString(footer),
      ";font:7.5pt sans-serif;color:#333}"
      "@bottom-right{content:\"Page \" counter(page) \" of \" counter(pages);"
      "font:7.5pt sans-serif;color:#333}}\n"
      "body{font:10pt/1.35 'DejaVu Sans',sans-serif;color:#000;margin:0 auto;"
      "max-width:190mm}\n"
      ".banner{font-weight:bold;color:#a00;text-align:center;"
      "border:2px solid #a00;padding:4px;margin:8px 0}\n"
      "@media print{.banner.screen{display:none}}\n"
      "h1{font-size:18pt;margin:40mm 0 6mm}h2{font-size:13pt;"
      "break-before:page;border-bottom:1px solid #000}\n"
      "h3{font-size:10.5pt;margin:5mm 0 2mm;break-after:avoid}\n"
      "table{border-collapse:collapse;width:100%;font-size:8.5pt;"
      "margin-bottom:2mm}\n"
      "thead{display:table-header-group}tr{break-inside:avoid}\n"
      "th,td{border-bottom:1px solid #bbb;padding:1.5px 4px;text-align:left;"
      "vertical-align:top}\n"
      // A figure never breaks; a column header may ("Xanomeline High Dose
      // (N=84)" four times is wider than the page).
      "th{border-bottom:1.5px solid #000}td.n,th.n{text-align:right}"
      "td.n{white-space:nowrap}\n"
      "tr.em td{font-weight:bold}td.in{padding-left:14px}\n"
      // Listings (l01...) have up to 11 columns: they wrap at spaces,
      // hyphens and underscores (CellHtml), and a report's version goes
      // under its id. Words are not broken: the table sizes a column to
      // its longest word (break-word does not lower that, unlike
      // "anywhere", which broke "Xanomeline" in two), so a listing fits
      // while its longest words do; pdf_report.sh checks the CDISC pilot's.
      "section[id^=l] table{font-size:7.5pt}"
      "section[id^=l] td{overflow-wrap:break-word}"
      "section[id^=l] td.n{white-space:normal}\n"
      // A table's note stays with its last rows: alone at the top of a
      // page it was a page of its own before the next section's break.
      ".note{font-size:8pt;color:#333;break-before:avoid}"
      "figure{margin:4mm 0;"
      "break-inside:avoid}\n"
      "svg.aes-chart{break-inside:avoid}.aes-chart-title{display:none}\n"
      "figcaption{font-size:8.5pt}.title-page dt{font-weight:bold}\n"
      ".title-page dd{margin:0 0 3mm}.contents{break-before:page}\n"
      ".contents h2{break-before:auto;margin-top:8mm}\n"
      "code{font-size:8.5pt;word-break:break-all}\n"
      // Each table's CSV file, so that "Table 16" and t12_signal_topics.csv
      // are seen to be the same table.
      ".csv-name{font:normal 7.5pt 'DejaVu Sans Mono',monospace;"
      "color:#555;margin-left:2mm}\n");
}

// A figure such as "6 (7.0) [10]", "0.031" or "-2.3 (-10.1, 5.4)": right-
// aligned and never wrapped. Text that merely starts with a digit ("2026-11-30
// validated: ...", "2/3 (66.7%) vs expected ...") is not one: it must wrap,
// or it runs off the printed page.
bool LooksNumeric(absl::string_view text) {
  const bool starts_as_number =
      !text.empty() &&
      (absl::ascii_isdigit(text[0]) ||
       (text.size() > 1 && text[0] == '-' && absl::ascii_isdigit(text[1])));
  if (!starts_as_number || text.size() > 32) return false;
  int letters = 0;  // the current run of letters
  for (char c : text) {
    letters =
        absl::ascii_isalpha(static_cast<unsigned char>(c)) ? letters + 1 : 0;
    if (letters >= 3) return false;
  }
  return true;
}

// A column of figures (its header is right-aligned over them): every
// filled cell below it is one. The first column holds the row labels.
bool NumericColumn(const Table& table, size_t column) {
  if (column == 0 || table.rows.empty()) return false;
  for (const auto& row : table.rows) {
    // Placeholders ("-", "not recorded", "not applicable") sit in columns
    // of figures.
    if (column < row.size() && !row[column].empty() && row[column] != "-" &&
        row[column] != "not recorded" && row[column] != "not applicable" &&
        !LooksNumeric(row[column])) {
      return false;
    }
  }
  return true;
}

}  // namespace

// The charts' escaping: the same five characters, and control characters
// (never meaningful in report text) as spaces.
std::string HtmlEscape(absl::string_view text) {
  return internal::XmlEscape(text);
}

// A table cell: escaped, and breakable after an underscore, so that an id
// such as "dermatologic_events" can wrap in a narrow column without the
// table breaking words anywhere ("Xanomeli/ne").
std::string CellHtml(absl::string_view text) {
  return absl::StrReplaceAll(HtmlEscape(text), {{"_", "_<wbr>"}});
}

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(text);
  }
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out.push_back(c);
  }
  return out + "\"";
}

Document::Document(std::string title, std::string banner)
    : title_(std::move(title)), banner_(std::move(banner)) {}

void Document::Section(absl::string_view heading) {
  sections_.emplace_back(heading);
  body_.push_back(
      {static_cast<int>(sections_.size()),
       absl::StrCat("<h2 id=\"s", sections_.size(), "\">", sections_.size(),
                    ". ", HtmlEscape(heading), "</h2>\n")});
}

void Document::Html(absl::string_view html) {
  body_.push_back({static_cast<int>(sections_.size()), std::string(html)});
}

void Document::Paragraph(absl::string_view text) {
  Html(absl::StrCat("<p>", HtmlEscape(text), "</p>\n"));
}

void Document::Add(Table table) {
  tables_.push_back(std::move(table));
  Html(TableHtml(tables_.back(), static_cast<int>(tables_.size())));
}

void Document::Add(Figure figure) {
  figure_titles_.push_back(figure.title);
  const int number = static_cast<int>(figure_titles_.size());
  Html(absl::StrCat("<figure id=\"", HtmlEscape(figure.id), "\">\n",
                    "<h3>Figure ", number, ". ", HtmlEscape(figure.title),
                    "</h3>\n", figure.svg, "\n<figcaption>",
                    HtmlEscape(figure.caption), "</figcaption>\n</figure>\n"));
}

std::string Document::TableHtml(const Table& table, int number) const {
  std::string html = absl::StrCat(
      "<section class=\"table\" id=\"", HtmlEscape(table.id), "\">\n<h3>Table ",
      number, ". ", HtmlEscape(table.title), " <span class=\"csv-name\">",
      HtmlEscape(table.id), ".csv</span></h3>\n<table>\n<thead><tr>");
  for (size_t c = 0; c < table.header.size(); ++c) {
    absl::StrAppend(&html,
                    NumericColumn(table, c) ? "<th class=\"n\">" : "<th>",
                    HtmlEscape(table.header[c]), "</th>");
  }
  html += "</tr></thead>\n<tbody>\n";
  if (table.rows.empty()) {
    absl::StrAppend(&html, "<tr><td colspan=\"", table.header.size(), "\">",
                    HtmlEscape(table.empty_text), "</td></tr>\n");
  }
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const bool em = r < table.emphasized.size() && table.emphasized[r];
    html += em ? "<tr class=\"em\">" : "<tr>";
    for (size_t c = 0; c < table.rows[r].size(); ++c) {
      const std::string& cell = table.rows[r][c];
      const char* cls =
          c == 0 ? (em || table.emphasized.empty() ? "" : " class=\"in\"")
                 : (LooksNumeric(cell) ? " class=\"n\"" : "");
      absl::StrAppend(&html, "<td", cls, ">", CellHtml(cell), "</td>");
    }
    html += "</tr>\n";
  }
  html += "</tbody>\n</table>\n";
  if (!table.footnote.empty()) {
    absl::StrAppend(&html, "<p class=\"note\">", HtmlEscape(table.footnote),
                    "</p>\n");
  }
  return html + "</section>\n";
}

std::string Document::Contents() const {
  std::string html = "<nav class=\"contents\">\n<h2>Contents</h2>\n<ol>\n";
  for (size_t s = 0; s < sections_.size(); ++s) {
    absl::StrAppend(&html, "<li><a href=\"#s", s + 1, "\">",
                    HtmlEscape(sections_[s]), "</a></li>\n");
  }
  html += "</ol>\n<h2>List of tables</h2>\n<ol>\n";
  for (const Table& table : tables_) {
    absl::StrAppend(&html, "<li><a href=\"#", HtmlEscape(table.id), "\">",
                    HtmlEscape(table.title), "</a></li>\n");
  }
  html += "</ol>\n<h2>List of figures</h2>\n<ol>\n";
  for (const std::string& title : figure_titles_) {
    absl::StrAppend(&html, "<li>", HtmlEscape(title), "</li>\n");
  }
  if (figure_titles_.empty()) html += "<li>None.</li>\n";
  return html + "</ol>\n</nav>\n";
}

std::string Document::Render(absl::string_view title_page_html,
                             absl::string_view footer) const {
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>",
      HtmlEscape(title_), "</title>\n<style>\n", Style(banner_, footer),
      "</style>\n</head>\n<body>\n<div class=\"banner screen\">",
      HtmlEscape(banner_), "</div>\n<main>\n", title_page_html, Contents());
  for (const Entry& entry : body_) html += entry.html;
  return html + "</main>\n</body>\n</html>\n";
}

std::vector<v1::DsmbTable> Document::Csv() const {
  std::vector<v1::DsmbTable> out;
  for (const Table& table : tables_) {
    v1::DsmbTable csv;
    csv.set_id(table.id);
    // As printed: the number is the table's place in this report (it
    // varies with the trial's AESI categories), the id is stable.
    csv.set_title(absl::StrCat("Table ", out.size() + 1, ". ", table.title));
    std::string text;
    auto append_row = [&text](const std::vector<std::string>& row) {
      for (size_t c = 0; c < row.size(); ++c) {
        absl::StrAppend(&text, c == 0 ? "" : ",", CsvField(row[c]));
      }
      text += "\r\n";
    };
    append_row(table.header);
    for (const auto& row : table.rows) append_row(row);
    csv.set_csv(std::move(text));
    out.push_back(std::move(csv));
  }
  return out;
}

}  // namespace aesignal::report
