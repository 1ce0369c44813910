fn main() -> std::process::ExitCode {
    bqcheck::app::main_check("profile")
}
