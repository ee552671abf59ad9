//! `cromulent user create NAME`: adds an account on a headless server, reading the password
//! from standard input so it never shows in the process list or shell history.

use std::io::BufRead;

use anyhow::{Context, bail};

use crate::domain::text::{Email, Password, Username};
use crate::{AppState, Config};

/// Creates the account `name`; the password is the first line of standard input.
pub(super) async fn create(config: Config, name: &str, admin: bool, email: Option<&str>) -> anyhow::Result<()> {
    let username = Username::parse(name)?;
    let email = email.map(Email::parse).transpose()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("no password on standard input (e.g. `echo 'PASSWORD' | cromulent user create {name}`)");
    }
    let password = Password::parse(password)?;
    let state = AppState::open(config).await?;
    let user = state.chat.create_user(&username, &password, email.as_ref(), admin, true).await?;
    println!("created user {} (id {}, admin: {})", user.username, user.id, user.admin());
    state.chat.store().close().await;
    Ok(())
}
