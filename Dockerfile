# The image of the bqcheck GitHub Action (action.yml: `runs.image: Dockerfile`) and of the
# release on GHCR (.github/workflows/release.yml). Its entrypoint is `bqcheck action`, which
# reads the action's INPUT_* variables. The four CLIs are in /usr/local/bin for other uses:
#
#   docker build -t bqcheck .
#   docker run --rm -v "$PWD:/w" -w /w --entrypoint bq-schema-diff bqcheck \
#       --pairs-file examples/schema-pairs.txt

# ---- build ----------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src

# The dependencies first, in a layer of their own that is rebuilt only when Cargo.toml or
# Cargo.lock change. The stubs stand in for the crate's own targets: each [[bin]] and the
# [[bench]] that Cargo.toml declares must exist for the manifest to load.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src/bin benches \
    && touch src/lib.rs \
    && for f in src/bin/bqcheck.rs src/bin/bq-schema-diff.rs src/bin/bq-table-compare.rs \
        src/bin/bq-profile.rs benches/batch.rs; do echo 'fn main() {}' >"$f"; done \
    && cargo build --release --locked --bins \
    && rm -rf src benches

# Then the crate itself. COPY keeps the files' modification times, which can be older than the
# stubs' build: touch them so that Cargo does not take the stubs' artifacts for up to date.
COPY src ./src
COPY benches ./benches
RUN find src benches -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --bins \
    && mkdir -p /out \
    && cp target/release/bqcheck target/release/bq-schema-diff target/release/bq-table-compare \
        target/release/bq-profile /out/

# ---- runtime --------------------------------------------------------------------------------
FROM debian:bookworm-slim

ARG VERSION=dev
ARG SOURCE=https://github.com/OWNER/bqcheck
LABEL org.opencontainers.image.title="bqcheck" \
      org.opencontainers.image.description="BigQuery checks for CI: schema diffs, data compares and profiles, computed inside BigQuery" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.url="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"

# CA certificates for HTTPS to BigQuery, Google's token endpoints and the GitHub API.
# Not version-pinned (DL3008): Debian keeps only the current version of a package in the
# archive, so a pin breaks the build at its next security update; the base image's tag pins
# the release (bookworm) instead.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /out/ /usr/local/bin/

# No USER: GitHub runs Docker actions as the image's user, with the workspace
# (/github/workspace) and the step's files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) mounted from the
# runner, and the action must write the reports and outputs there. GitHub's documentation for
# Docker actions says to keep the default user, root, for this reason. No WORKDIR either: the
# runner sets the working directory to /github/workspace.
ENTRYPOINT ["/usr/local/bin/bqcheck", "action"]
