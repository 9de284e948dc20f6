//! Thin edge: parse the command line, run, print `error:`/`hint:` and exit 0/1/2.

mod cli;

fn main() {
    let code = match cli::main() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", e.message);
            if let Some(h) = &e.hint {
                eprintln!("hint: {}", h);
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}
