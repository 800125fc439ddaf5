# Writes the SAS transport (XPORT version 5) fixtures of the cdiscpilot01
# ADaM CSVs, for the XPT path of `aesignal import adam`. Run once from the
# repository root (R and haven are needed only to regenerate; the .xpt files
# are committed):
#   Rscript tests/import/make_xpt.R
# Debian: apt-get install r-base-core r-cran-haven (haven 2.5.1, R 4.2).
#
# Dates (*DT columns, ISO YYYY-MM-DD in the CSV) become R Date columns, which
# haven writes as SAS dates (days since 1960-01-01) with format DATE9.; every
# other column is read as text or number exactly as the CSV holds it.
suppressMessages(library(haven))
for (name in c("adsl", "adae")) {
  csv <- file.path("tests/data/cdiscpilot01", paste0(name, ".csv"))
  d <- read.csv(csv, stringsAsFactors = FALSE, na.strings = "",
                check.names = FALSE, colClasses = NA)
  for (col in names(d)) {
    if (grepl("DT$", col)) {
      d[[col]] <- as.Date(d[[col]])
      attr(d[[col]], "format.sas") <- "DATE9"
    } else if (is.character(d[[col]])) {
      d[[col]][is.na(d[[col]])] <- ""
    }
  }
  out <- file.path("tests/data/cdiscpilot01", paste0(name, ".xpt"))
  write_xpt(d, out, version = 5, name = toupper(name))
  cat(out, ":", nrow(d), "rows,", ncol(d), "columns\n")
}
