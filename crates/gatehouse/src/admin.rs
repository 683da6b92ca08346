//! `gatehouse admin …`: identity administration straight against the database,
//! through the same core services (and audit trail) as the admin API, acting as
//! the instance principal `cli`. Each command prints what it created on
//! standard output, one value per line, so scripts can capture it.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Context;
use gatehouse_core::ids::{OrgId, UserId};
use gatehouse_core::model::UserQuery;
use gatehouse_core::secret::Secret;
use gatehouse_core::services::{
    AdminPrincipal, NewApiToken, NewGroup, NewOrg, NewUser, RequestContext, Services, UserProfile,
};

use crate::cli::{AdminCommand, CreateGroup, CreateOrg, CreateToken, CreateUser, SetPassword};
use crate::settings::Settings;
use crate::{report, startup};

pub async fn run(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    // Read a password before anything slow happens, so a wrong source fails fast.
    let password = match &command {
        AdminCommand::CreateUser(c) => read_password(
            c.password.password_file.as_deref(),
            c.password.password_stdin,
        )?,
        AdminCommand::SetPassword(c) => read_password(
            c.password.password_file.as_deref(),
            c.password.password_stdin,
        )?,
        AdminCommand::CreateOrg(_)
        | AdminCommand::CreateGroup(_)
        | AdminCommand::CreateToken(_) => None,
    };

    let public_url = settings.server.public_url_for(settings.server.listen);
    let services = startup::services(&settings, public_url).await?;

    let admin = Admin {
        services: &services,
        who: AdminPrincipal::cli(),
        // Audit events record the CLI as the user agent; there is no IP or request id.
        ctx: RequestContext {
            user_agent: Some(concat!("gatehouse-cli/", env!("CARGO_PKG_VERSION")).to_owned()),
            ..RequestContext::default()
        },
    };
    let output = match command {
        AdminCommand::CreateOrg(c) => admin.create_org(c).await,
        AdminCommand::CreateUser(c) => admin.create_user(c, password).await,
        AdminCommand::CreateGroup(c) => admin.create_group(c).await,
        AdminCommand::SetPassword(c) => admin.set_password(c, password).await,
        AdminCommand::CreateToken(c) => admin.create_token(c).await,
    }?;
    let mut out = std::io::stdout().lock();
    for line in output {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

struct Admin<'a> {
    services: &'a Services,
    who: AdminPrincipal,
    ctx: RequestContext,
}

impl Admin<'_> {
    async fn create_org(&self, c: CreateOrg) -> anyhow::Result<Vec<String>> {
        let slug = c.slug.unwrap_or_else(|| slugify(&c.name));
        let new = NewOrg {
            slug,
            name: c.name,
            domains: c.domains,
            ..NewOrg::default()
        };
        let org = self
            .services
            .orgs
            .create(&self.who, &self.ctx, new)
            .await
            .map_err(report::core("create the org"))?;
        Ok(vec![org.id.to_string()])
    }

    async fn create_user(
        &self,
        c: CreateUser,
        password: Option<Secret>,
    ) -> anyhow::Result<Vec<String>> {
        let org_id = self.org(c.org.as_deref()).await?;
        let mut doc = serde_json::Map::new();
        doc.insert("username".into(), c.username.into());
        doc.insert("email".into(), c.email.into());
        if let Some(given) = c.given_name {
            doc.insert("given_name".into(), given.into());
        }
        if let Some(family) = c.family_name {
            doc.insert("family_name".into(), family.into());
        }
        let profile = UserProfile::from_json(doc).map_err(report::core("create the user"))?;
        let new = NewUser {
            org_id: Some(org_id),
            profile,
            password,
            ..NewUser::default()
        };
        let user = self
            .services
            .users
            .create(&self.who, &self.ctx, new)
            .await
            .map_err(report::core("create the user"))?;
        Ok(vec![user.id.to_string()])
    }

    async fn create_group(&self, c: CreateGroup) -> anyhow::Result<Vec<String>> {
        let org_id = self.org(c.org.as_deref()).await?;
        let new = NewGroup {
            org_id: Some(org_id),
            name: c.name,
            description: c.description,
        };
        let group = self
            .services
            .groups
            .create(&self.who, &self.ctx, new)
            .await
            .map_err(report::core("create the group"))?;
        Ok(vec![group.id.to_string()])
    }

    async fn set_password(
        &self,
        c: SetPassword,
        password: Option<Secret>,
    ) -> anyhow::Result<Vec<String>> {
        let password = password.context("no password given")?;
        let org_id = self.org(c.org.as_deref()).await?;
        let user = self.user(org_id, &c.user).await?;
        self.services
            .users
            .set_password(&self.who, &self.ctx, user, &password)
            .await
            .map_err(report::core("set the password"))?;
        Ok(vec![user.to_string()])
    }

    async fn create_token(&self, c: CreateToken) -> anyhow::Result<Vec<String>> {
        let org_id = match c.org.as_deref() {
            Some(org) => Some(self.org(Some(org)).await?),
            None => None,
        };
        let expires_in = c.expires_in_days.map(|days| i64::from(days) * 86_400);
        let new = NewApiToken {
            name: c.name,
            org_id,
            expires_in,
            kind: Default::default(),
        };
        let (token, secret) = self
            .services
            .api_tokens
            .create(&self.who, &self.ctx, new)
            .await
            .map_err(report::core("create the token"))?;
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "Created API token {} ({}); it is shown only once:",
            token.id, token.name
        )?;
        Ok(vec![secret.expose().to_owned()])
    }

    /// An org id, or a slug looked up by paging through the orgs; `None` is the default org.
    async fn org(&self, given: Option<&str>) -> anyhow::Result<OrgId> {
        let Some(given) = given else {
            return Ok(OrgId::DEFAULT);
        };
        if let Ok(id) = given.parse::<OrgId>() {
            return Ok(id);
        }
        let slug = given.to_ascii_lowercase();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .services
                .orgs
                .list(&self.who, after.as_deref(), 500)
                .await
                .map_err(report::core("list the orgs"))?;
            if let Some(org) = page.items.iter().find(|o| o.slug == slug) {
                return Ok(org.id);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => anyhow::bail!("no organization with id or slug {given:?}"),
            }
        }
    }

    /// A user id, or a username in `org` (exact, case-insensitive).
    async fn user(&self, org: OrgId, given: &str) -> anyhow::Result<UserId> {
        if let Ok(id) = given.parse::<UserId>() {
            return Ok(id);
        }
        let query = UserQuery {
            org_id: Some(org),
            username_prefix: Some(given.to_owned()),
            limit: 100,
            ..UserQuery::default()
        };
        let page = self
            .services
            .users
            .list(&self.who, query)
            .await
            .map_err(report::core("find the user"))?;
        page.items
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(given))
            .map(|u| u.id)
            .with_context(|| format!("no user with id or username {given:?} in that organization"))
    }
}

/// A slug from a display name: lower-case ASCII letters and digits joined by single dashes.
fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    slug.get(..63)
        .unwrap_or(slug)
        .trim_end_matches('-')
        .to_owned()
}

/// The password from a file or standard input, trailing newline removed; never from a flag.
fn read_password(file: Option<&Path>, stdin: bool) -> anyhow::Result<Option<Secret>> {
    let text = match (file, stdin) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?,
        (None, true) => {
            let mut input = std::io::stdin().lock();
            let mut text = String::new();
            if input.is_terminal() {
                let mut err = std::io::stderr().lock();
                write!(err, "Password (visible; end with Enter): ")?;
                err.flush()?;
                input.read_line(&mut text)?;
            } else {
                input.read_to_string(&mut text)?;
            }
            text
        }
        (None, false) => return Ok(None),
    };
    let password = text.trim_end_matches(['\n', '\r']);
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    Ok(Some(Secret::new(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_slugify_makes_valid_slugs() {
        assert_eq!(slugify("Acme Corp."), "acme-corp");
        assert_eq!(slugify("  --Ünïcode & Co  "), "n-code-co");
        assert_eq!(slugify(&"x".repeat(80)).len(), 63);
    }
}
