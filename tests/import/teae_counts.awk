#!/usr/bin/gawk -f
# Independent count of treatment-emergent AE incidence from ADaM CSVs, to
# check `aesignal import adam` (tests/integration/import_test.cc runs it on the
# same files and compares every cell with `aesignal incidence`).
#
#   gawk -f tests/import/teae_counts.awk ADSL.csv ADAE.csv
#
# Safety population: ADSL SAFFL = "Y"; arm = ADSL TRT01A. Records: ADAE
# TRTEMFL = "Y" of those subjects; arm = ADAE TRTA when the column exists and
# is filled, else the subject's TRT01A. Output, tab-separated, one line per
# cell with at least one record:
#   level  arm  soc  pt  subjects  events
# level is PT (pt = AEDECOD within soc = AEBODSYS), SOC (pt empty) or AESI
# (soc = the category of a customized query CQnnNAM: its name lower-cased,
# other runs of characters as "_"; pt empty); arm is empty for the all-arms
# total. subjects = distinct USUBJID, events = records.
# Needs gawk (FPAT); CSV fields may be quoted but not contain quotes or line
# breaks (true of the test data).
BEGIN {
  FPAT = "([^,]*)|(\"[^\"]*\")"
  OFS = "\t"
}
function cell(name,    i, v) {
  i = col[FILENAME, name]
  if (i == "") return ""
  v = $i
  if (substr(v, 1, 1) == "\"") v = substr(v, 2, length(v) - 2)
  sub(/[ \t]+$/, "", v)
  return v
}
function count(level, arm, soc, pt, subject,    key) {
  key = level SUBSEP arm SUBSEP soc SUBSEP pt
  events[key]++
  if (!((key, subject) in seen)) {
    seen[key, subject] = 1
    subjects[key]++
  }
}
{ sub(/\r$/, "") }
FNR == 1 {
  sub(/^\xef\xbb\xbf/, "")
  for (i = 1; i <= NF; i++) {
    name = $i
    gsub(/"/, "", name)
    col[FILENAME, toupper(name)] = i
  }
  file_no++
  next
}
file_no == 1 {
  if (cell("SAFFL") == "Y") arm_of[cell("USUBJID")] = cell("TRT01A")
  next
}
file_no == 2 {
  subject = cell("USUBJID")
  if (cell("TRTEMFL") != "Y" || !(subject in arm_of)) next
  arm = cell("TRTA")
  if (arm == "") arm = arm_of[subject]
  soc = cell("AEBODSYS")
  pt = cell("AEDECOD")
  count("PT", arm, soc, pt, subject)
  count("PT", "", soc, pt, subject)
  count("SOC", arm, soc, "", subject)
  count("SOC", "", soc, "", subject)
  for (q = 1; q <= 99; q++) {
    name = cell(sprintf("CQ%02dNAM", q))
    if (name == "") continue
    category = tolower(name)
    gsub(/[^a-z0-9]+/, "_", category)
    gsub(/^_+|_+$/, "", category)
    count("AESI", arm, category, "", subject)
    count("AESI", "", category, "", subject)
  }
}
END {
  for (key in events) {
    split(key, k, SUBSEP)
    print k[1], k[2], k[3], k[4], subjects[key], events[key]
  }
}
