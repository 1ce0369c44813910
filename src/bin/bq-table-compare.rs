fn main() -> std::process::ExitCode {
    bqcheck::cli::main_table_compare()
}
