//! The `laurel` binary: parses the command line and hands over to `laurel::cli`.

use clap::Parser;

fn main() {
    let cli = laurel::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("laurel: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(laurel::cli::run(cli));
    std::process::exit(code);
}
