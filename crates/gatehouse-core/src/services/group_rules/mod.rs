//! Group rules: attribute expressions that keep group membership in sync with
//! the users' state. Every user write (admin API, SCIM) computes the groups the
//! org's rules put the user in ([`rule_groups`]) and hands them to the store,
//! which replaces the user's rule-managed memberships in the same transaction.
//! Creating or deleting a rule re-evaluates the org's users, a page at a time.
//! Manual memberships are never touched by rules.

pub mod expr;

use crate::error::{Error, Result};
use crate::ids::{GroupId, GroupRuleId, OrgId};
use crate::model::{Group, GroupRule, SortOrder, User, UserQuery, UserSort};
use crate::services::Deps;
use crate::services::audit::Target;
use crate::services::principal::{AdminPrincipal, RequestContext};
use expr::{Expr, ParseError};

/// Most rules one org may have (every user write evaluates all of them).
pub const MAX_RULES_PER_ORG: usize = 100;
/// Users re-evaluated per transaction when a rule is created or deleted.
const RECONCILE_PAGE: u32 = 200;

/// The source text of a rule expression that parsed.
#[derive(Debug, Clone)]
pub struct RuleExpression {
    text: String,
}

impl RuleExpression {
    pub fn parse(text: &str) -> std::result::Result<Self, ParseError> {
        Expr::parse(text)?;
        Ok(Self {
            text: text.to_owned(),
        })
    }
}

/// The org's rules, parsed once for evaluating many users. A stored rule that
/// no longer parses matches nobody.
#[derive(Debug, Clone, Default)]
pub struct CompiledRules(Vec<(GroupId, Expr)>);

impl CompiledRules {
    pub fn new(rules: &[GroupRule]) -> Self {
        Self(
            rules
                .iter()
                .filter_map(|rule| Some((rule.group_id, Expr::parse(&rule.expression).ok()?)))
                .collect(),
        )
    }

    /// The groups the rules put `user` in, sorted, without duplicates.
    pub fn groups_of(&self, user: &User) -> Vec<GroupId> {
        let mut groups: Vec<GroupId> = self
            .0
            .iter()
            .filter(|(_, expr)| expr.matches(user))
            .map(|(group, _)| *group)
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }
}

/// The groups the rules of `user`'s org put the user in, as they stand now.
pub(crate) async fn rule_groups(deps: &Deps, user: &User) -> Result<Vec<GroupId>> {
    let rules = deps.store.list_group_rules(user.org_id, None).await?;
    Ok(CompiledRules::new(&rules).groups_of(user))
}

#[derive(Debug, Clone)]
pub struct GroupRules {
    deps: Deps,
}

impl GroupRules {
    pub(crate) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Adds a rule to the group and puts the org's matching users in it.
    pub async fn create(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        group: GroupId,
        expression: RuleExpression,
    ) -> Result<GroupRule> {
        let group = self.visible_group(who, group).await?;
        let d = &self.deps;
        if d.store.list_group_rules(group.org_id, None).await?.len() >= MAX_RULES_PER_ORG {
            return Err(Error::Conflict(format!(
                "an org may have at most {MAX_RULES_PER_ORG} group rules"
            )));
        }
        let now = d.clock.now_millis();
        let rule = GroupRule {
            id: GroupRuleId::generate(d.clock.as_ref(), d.rng.as_ref()),
            org_id: group.org_id,
            group_id: group.id,
            expression: expression.text,
            created_at: now,
            updated_at: now,
        };
        let audit = d.audit(
            who.actor(),
            ctx,
            "group.rule.create",
            Target::new("group", group.id, Some(group.org_id)),
            serde_json::json!({ "rule_id": rule.id, "expression": rule.expression }),
        );
        d.store.create_group_rule(&rule, &audit).await?;
        self.reconcile(group.org_id).await?;
        Ok(rule)
    }

    pub async fn list(&self, who: &AdminPrincipal, group: GroupId) -> Result<Vec<GroupRule>> {
        let group = self.visible_group(who, group).await?;
        Ok(self
            .deps
            .store
            .list_group_rules(group.org_id, Some(group.id))
            .await?)
    }

    /// Deletes the rule and takes the users it alone put in the group out again.
    pub async fn delete(
        &self,
        who: &AdminPrincipal,
        ctx: &RequestContext,
        group: GroupId,
        id: GroupRuleId,
    ) -> Result<()> {
        let group = self.visible_group(who, group).await?;
        let d = &self.deps;
        let rule = match d.store.get_group_rule(id).await? {
            Some(rule) if rule.group_id == group.id => rule,
            _ => return Err(Error::NotFound("group rule")),
        };
        let audit = d.audit(
            who.actor(),
            ctx,
            "group.rule.delete",
            Target::new("group", group.id, Some(group.org_id)),
            serde_json::json!({ "rule_id": rule.id, "expression": rule.expression }),
        );
        if !d.store.delete_group_rule(id, &audit).await? {
            return Err(Error::NotFound("group rule"));
        }
        self.reconcile(group.org_id).await
    }

    /// Re-evaluates every user of the org against its current rules, one
    /// transaction per page of users.
    async fn reconcile(&self, org: OrgId) -> Result<()> {
        let d = &self.deps;
        let rules = CompiledRules::new(&d.store.list_group_rules(org, None).await?);
        let mut after = None;
        loop {
            let page = d
                .store
                .list_users(&UserQuery {
                    org_id: Some(org),
                    sort: UserSort::Created,
                    order: SortOrder::Asc,
                    after,
                    limit: RECONCILE_PAGE,
                    ..UserQuery::default()
                })
                .await?;
            let batch: Vec<_> = page
                .items
                .iter()
                .map(|user| (user.id, rules.groups_of(user)))
                .collect();
            d.store
                .sync_rule_memberships(&batch, d.clock.now_millis())
                .await?;
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn visible_group(&self, who: &AdminPrincipal, id: GroupId) -> Result<Group> {
        match self.deps.store.get_group(id).await? {
            Some(g) if who.can_access(g.org_id) => Ok(g),
            _ => Err(Error::NotFound("group")),
        }
    }
}
