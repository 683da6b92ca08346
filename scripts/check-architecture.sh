#!/usr/bin/env bash
# Enforces the crate boundaries of ARCHITECTURE.md with `cargo tree`:
#   - only gatehouse-store names sqlx; apart from it only the binary and the
#     testkit (which wire the store in) may reach sqlx at all;
#   - gatehouse-store is named only by the wiring: the binary and the testkit;
#   - only gatehouse-web names axum; the binary (which serves the router) and the
#     testkit may name it too, and nothing else may reach it;
#   - gatehouse-core depends on no sqlx, axum, hyper, reqwest, and of the gatehouse
#     crates only on the pure protocol crates (-oauth, -saml, -scim);
#   - protocol crates (gatehouse-oauth, -saml, -scim) do no I/O: no tokio, sqlx,
#     axum, hyper, reqwest;
#   - no crate pulls openssl-sys (one TLS stack: rustls on aws-lc-rs).
# Normal dependencies only, except for the openssl rule, which covers dev and
# build dependencies too. Prints every violation and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."

failures=0
violation() {
  echo "architecture violation: $*" >&2
  failures=$((failures + 1))
}

# Package names, one per line, without the root package itself.
deps() { # crate, extra cargo-tree flags...
  local crate=$1
  shift
  cargo tree --quiet -p "$crate" --prefix none --format '{p}' "$@" | awk '{print $1}' | grep -vx -- "$crate" | sort -u
}
has() { grep -qx -- "$2" <<<"$1"; }
# How `crate` reaches `dep`, for the message.
path_to() {
  cargo tree --quiet -p "$1" -e normal -i "$2" --prefix indent 2>/dev/null | sed 's/^/    /' || true
}
in_list() {
  local item=$1
  shift
  local x
  for x in "$@"; do [[ $x == "$item" ]] && return 0; done
  return 1
}

members=$(cargo tree --quiet --workspace --depth 0 --prefix none --format '{p}' | awk 'NF {print $1}' | sort -u)
[[ -n $members ]] || { echo "check-architecture: no workspace members found" >&2; exit 1; }

for crate in $members; do
  direct=$(deps "$crate" -e normal --depth 1)
  all=$(deps "$crate" -e normal)

  # sqlx: named only by the store; reached only by the store's wiring.
  if has "$direct" sqlx && [[ $crate != gatehouse-store ]]; then
    violation "$crate depends on sqlx directly; only gatehouse-store may (go through the Store traits)"
  elif has "$all" sqlx && ! in_list "$crate" gatehouse-store gatehouse gatehouse-testkit; then
    violation "$crate reaches sqlx; only gatehouse-store, the gatehouse binary and gatehouse-testkit may:"$'\n'"$(path_to "$crate" sqlx)"
  fi

  if has "$direct" gatehouse-store && ! in_list "$crate" gatehouse gatehouse-testkit; then
    violation "$crate depends on gatehouse-store; only the gatehouse binary and gatehouse-testkit wire it in (use core's Store traits)"
  fi

  # axum: named by the web crate, the binary and the testkit; reached by nothing else.
  if has "$direct" axum && ! in_list "$crate" gatehouse-web gatehouse gatehouse-testkit; then
    violation "$crate depends on axum directly; only gatehouse-web (and the binary and testkit) may"
  elif has "$all" axum && ! in_list "$crate" gatehouse-web gatehouse gatehouse-testkit; then
    violation "$crate reaches axum; only gatehouse-web, the gatehouse binary and gatehouse-testkit may:"$'\n'"$(path_to "$crate" axum)"
  fi

  case $crate in
    gatehouse-core)
      for dep in sqlx axum hyper reqwest; do
        has "$all" "$dep" && violation "gatehouse-core reaches $dep; core knows no HTTP or SQL:"$'\n'"$(path_to "$crate" "$dep")"
      done
      for dep in $(grep -x 'gatehouse.*' <<<"$all" | grep -vx 'gatehouse-oauth\|gatehouse-saml\|gatehouse-scim' || true); do
        violation "gatehouse-core depends on $dep; core depends only on the pure protocol crates"
      done
      ;;
    gatehouse-oauth | gatehouse-saml | gatehouse-scim)
      for dep in tokio sqlx axum hyper reqwest; do
        has "$all" "$dep" && violation "$crate reaches $dep; protocol crates do no I/O:"$'\n'"$(path_to "$crate" "$dep")"
      done
      ;;
  esac
done

everything=$(cargo tree --quiet --workspace -e normal,build,dev --prefix none --format '{p}' | awk '{print $1}' | sort -u)
if has "$everything" openssl-sys; then
  violation "openssl-sys is in the dependency graph; use rustls with aws-lc-rs:"$'\n'"$(cargo tree --quiet --workspace -e normal,build,dev -i openssl-sys | sed 's/^/    /')"
fi

if ((failures > 0)); then
  echo "check-architecture: $failures violation(s)" >&2
  exit 1
fi
echo "check-architecture: ok ($(wc -w <<<"$members") crates)"
