fn main() -> std::process::ExitCode {
    bqcheck::cli::main_schema_diff()
}
