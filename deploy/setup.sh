#!/usr/bin/env bash
# Installs the Debian 12 packages aesignal needs to build and test, if any is
# missing. Idempotent; run as root (or with sudo available).
#   bash deploy/setup.sh          # build + test
#   bash deploy/setup.sh build    # build only (the container image's build
#                                 # stage): no Python test client, no
#                                 # browser; Node.js/npm for the dashboard
#                                 # bundle
#   bash deploy/setup.sh lint     # also clang-format (buf comes from npm)
#   bash deploy/setup.sh fuzz     # also clang with libFuzzer + ASan/UBSan
#                                 # runtimes (tests/fuzz/run.sh)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev librocksdb-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libboost-math-dev libcli11-dev libyaml-cpp-dev libssl-dev openssl prometheus-cpp-dev
  libreadstat-dev gawk libjemalloc-dev
  # libpq: `aesignal-bench peer` (PostgreSQL doing the same job; the server
  # itself comes from tests/load/peer_postgres/run.sh --install).
  libpq-dev
)
# Node.js and npm: the dashboard's bundle (clients/web, esbuild and Observable
# Plot from the npm registry) is built with the server, so the build stage
# needs them too; the Node example client (clients/node) and buf lint (also
# from npm) use them in tests. A machine that already has Node.js, e.g. from
# another source whose nodejs bundles npm, keeps it: Debian's npm would
# conflict with such a nodejs.
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)
if [[ ${1:-} != build ]]; then
  # The Python example client and its test (clients/python): Debian's gRPC
  # and protobuf runtimes for /usr/bin/python3, stubs from the protoc above.
  PACKAGES+=(python3 python3-grpcio python3-protobuf)
  # The dashboard's browser tests (tests/web): Debian's Chromium driven by
  # playwright-core (no downloaded browser) and one pinned font for stable
  # screenshots.
  PACKAGES+=(chromium fonts-dejavu-core)
  # The DSMB report's PDF checks (tests/report/pdf_report.sh): pdftotext,
  # pdfinfo and pdftoppm; bc for its timings.
  PACKAGES+=(poppler-utils bc)
fi
if [[ ${1:-} == lint ]]; then
  PACKAGES+=(clang-format git)
fi
if [[ ${1:-} == fuzz ]]; then
  # clang/clang++ (clang-14); libclang-rt-14-dev holds libFuzzer and the
  # sanitizer runtimes (libclang_rt.fuzzer/asan/ubsan); llvm gives
  # llvm-symbolizer for readable crash stacks.
  PACKAGES+=(clang libclang-rt-14-dev llvm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
