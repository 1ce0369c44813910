fn main() -> std::process::ExitCode {
    bqcheck::cli::main_profile()
}
