#!/usr/bin/env bash
# Writes the binary seed inputs of tests/fuzz/corpus/ from the readable
# definitions below (the CSV and JSON seeds are plain files, edited by hand):
#   fuzz_keys/*               storage keys (storage/keys.h encoding)
#   fuzz_report_validation/*  mode byte + serialized request (protoc --encode)
#   fuzz_dirty_mark/*         change byte + serialized DirtyTerm (protoc --encode)
# Needs protoc. Rerun after changing a definition; commit the outputs.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus

# --- fuzz_keys -------------------------------------------------------------
# Ordered string: bytes with 0x00 as 0x00 0xFF, then 0x00 0x01.
k=$out/fuzz_keys
s() { printf '%s\0\1' "$1"; }
s NCT0001 >$k/trial_key
{ s NCT0001; s S-001; } >$k/subject_key
{ s NCT0001; printf 'S\0\377-1\0\1'; } >$k/subject_key_with_nul
{ s NCT0001; s 01; s R-17; printf '\0\0\0\7'; } >$k/report_key_v7
{ s NCT0001; s 01; s R-17; } >$k/report_head_key
{ s NCT0001; printf '\1'; s Infections; s Pneumonia; s S-001; } \
  >$k/subject_term_key_pt
{ s NCT0001; printf '\2'; s Infections; printf '\0\3\0\2'; } >$k/counter_key_soc
{ s NCT0001; printf '\3'; s aesi:infection; printf '\377\377\0\0'; } \
  >$k/counter_key_overall
printf 'ab\377\377' >$k/prefix_with_ff

# --- fuzz_report_validation -------------------------------------------------
r=$out/fuzz_report_validation
encode() {  # encode MODE_BYTE TYPE FILE < text-format message
  local mode=$1 type=$2 file=$3
  { printf "\\$(printf '%03o' "$mode")"
    protoc --encode="aesignal.v1.$type" -I ../../proto \
      aesignal/v1/ingest_service.proto aesignal/v1/trial_service.proto
  } >"$r/$file"
}
encode 0 SubmitReportsRequest reports_valid <<'PB'
parent: "trials/NCT0001"
reports { report_id: "R-1" version: 1 site_id: "01" subject_id: "P2"
  dose_group_id: "LOW" onset_study_day: 12 pt: "Headache"
  pt_code: "10019211" soc: "Nervous system disorders" grade: 2
  relatedness: RELATEDNESS_POSSIBLE outcome: OUTCOME_RECOVERED
  action_taken: ACTION_TAKEN_DOSE_NOT_CHANGED aesi: "infection" }
reports { report_id: "R-2" version: 1 site_id: "02" subject_id: "P3"
  timepoint_id: "M3" pt: "Pneumonia" soc: "Infections and infestations"
  grade: 3 serious: true hospitalization: true aesi: "infection" }
PB
encode 0 SubmitReportsRequest reports_followup_and_duplicate <<'PB'
reports { report_id: "R-1" version: 2 site_id: "01" subject_id: "P2"
  onset_study_day: 12 timepoint_id: "M1" pt: "Headache"
  soc: "Nervous system disorders" grade: 3 }
reports { report_id: "R-1" version: 2 site_id: "01" subject_id: "P2"
  onset_study_day: 12 timepoint_id: "M1" pt: "Headache"
  soc: "Nervous system disorders" grade: 3 }
reports { report_id: "R-1" version: 1 site_id: "01" subject_id: "P2"
  onset_study_day: 12 pt: "Headache" soc: "Nervous system disorders"
  grade: 1 }
PB
encode 0 SubmitReportsRequest reports_near_valid <<'PB'
reports { report_id: "R-9" version: 1 site_id: "01" subject_id: "P1"
  onset_study_day: 200 pt: "Rash" soc: "Skin" grade: 1 }
reports { report_id: "R-10" version: 1 site_id: "01" subject_id: "P1"
  onset_study_day: 40 timepoint_id: "M1" pt: "Rash" soc: "Skin" grade: 1 }
reports { report_id: "R-11" version: 1 site_id: "01" subject_id: "P1"
  onset_study_day: 5 pt: "Rash" soc: "Skin" grade: 6 death: true }
reports { report_id: "R-12" version: 1 site_id: "03" subject_id: "P1"
  onset_study_day: 5 pt: "Rash" soc: "Skin" grade: 1 }
reports { report_id: "R-13" version: 1 site_id: "01" subject_id: "P9"
  onset_study_day: 5 pt: "Rash" soc: "Skin" grade: 1 pt_code: "123" }
reports { report_id: "R-14" version: 1 site_id: "02" subject_id: "P1"
  onset_study_day: 5 pt: "Rash" soc: "Skin" grade: 1 aesi: "infection"
  aesi: "infection" }
PB
encode 6 SubmitReportsRequest reports_other_site_as_site_principal <<'PB'
parent: "trials/NCT0001"
reports { report_id: "R-20" version: 1 site_id: "02" subject_id: "P3"
  onset_study_day: 3 pt: "Fatigue" soc: "General disorders" grade: 1 }
PB
encode 2 SubmitReportsRequest reports_unknown_trial <<'PB'
parent: "trials/NCT9999"
reports { report_id: "R-1" version: 1 site_id: "01" subject_id: "P1"
  onset_study_day: 3 pt: "Fatigue" soc: "General disorders" grade: 1 }
PB
encode 1 EnrollSubjectsRequest subjects_valid <<'PB'
subjects { subject_id: "P5" site_id: "01" dose_group_id: "HIGH"
  last_contact_day: 30 }
subjects { subject_id: "P2" site_id: "01" dose_group_id: "LOW"
  last_contact_day: 120 status: FOLLOW_UP_STATUS_COMPLETED }
PB
encode 1 EnrollSubjectsRequest subjects_near_valid <<'PB'
subjects { subject_id: "P6" site_id: "03" dose_group_id: "LOW"
  last_contact_day: 0 }
subjects { subject_id: "P6" site_id: "01" dose_group_id: "MID"
  last_contact_day: 10 }
subjects { subject_id: "P1" site_id: "02" dose_group_id: "LOW"
  last_contact_day: 1 }
PB
encode 3 EnrollSubjectsRequest subjects_bad_parent <<'PB'
parent: "trials/"
subjects { subject_id: "P7" site_id: "01" dose_group_id: "LOW"
  last_contact_day: 1 }
PB
# --- fuzz_dirty_mark --------------------------------------------------------
d=$out/fuzz_dirty_mark
mkdir -p "$d"
dirty() {  # dirty CHANGE_BYTE < text-format DirtyTerm: the serialized mark
  printf "\\$(printf '%03o' "$1")"
  protoc --encode=aesignal.storage.DirtyTerm -I ../.. -I ../../proto \
    storage/records.proto
}
dirty 3 </dev/null >$d/no_mark_three_cells
dirty 2 >$d/mark_three_cells <<'PB'
report_id: "R-4" report_version: 1 generation: 7
cell_reports { key: 3 value { report_id: "R-4" report_version: 1 } }
cell_reports { key: 256 value { report_id: "R-2" } }
cell_reports { key: 1033 value { report_version: 3 } }
PB
# Two encodings one after the other: protobuf merges them (last value wins).
{ dirty 5 <<'PB'
generation: 18446744073709551615
cell_reports { key: 3 value { report_id: "R-1" report_version: 1 } }
PB
  printf 'cell_reports { key: 3 value { report_id: "R-3" } } generation: 2' |
    protoc --encode=aesignal.storage.DirtyTerm -I ../.. -I ../../proto \
      storage/records.proto
} >$d/concatenated_marks
# A change other than a report (field 5), which the fast path copies.
dirty 2 >$d/mark_with_change <<'PB'
report_id: "R-4" report_version: 1 generation: 9
cell_reports { key: 3 value { report_id: "R-4" report_version: 1 } }
change { action: "subject.correct" name: "trials/T/subjects/S-4" version: 2 }
PB
dirty 1 >$d/non_ascii_report_id <<'PB'
report_id: "R-\303\251" generation: 1
cell_reports { key: 0 value { report_id: "S-\303\251" } }
PB
{ dirty 4 <<'PB'
generation: 3
PB
  printf '\110\005'  # field 9, varint 5: unknown to DirtyTerm
} >$d/unknown_field
printf '\003\042\005\010\001' >$d/truncated_entry

echo "make_corpus: $(ls $k | wc -l) key seeds, $(ls $r | wc -l) request seeds," \
  "$(ls $d | wc -l) dirty-mark seeds"
