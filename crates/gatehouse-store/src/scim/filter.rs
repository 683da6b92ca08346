//! A [`ScimCond`] as a parameterised SQL condition over `users` (joined with
//! `scim_users`) or `groups` (joined with `scim_groups`).
//!
//! Only literal fragments enter the SQL text; every value and every JSON path
//! is a bound argument. Columns compare the way they are stored (user names
//! and e-mails lower-cased in Rust, so the `(org_id, username_lower)` and
//! `(org_id, email_lower)` indexes serve `eq` and `sw`); JSON values go
//! through the engine's [`Dialect`].

use gatehouse_core::model::{ScimColumn, ScimCond, ScimDoc, ScimOp, ScimValue};

use crate::cursor;
use crate::engine::{Arg, Dialect, ELEMENT, SqlBuilder};

/// Which table the condition is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Users,
    Groups,
}

pub(crate) fn column(table: Table, column: ScimColumn) -> &'static str {
    match (table, column) {
        (Table::Users, ScimColumn::Id) => "users.id",
        (Table::Users, ScimColumn::Name) => "users.username_lower",
        (Table::Users, ScimColumn::Email) => "users.email_lower",
        (Table::Users, ScimColumn::ExternalId) => "scim_users.external_id",
        (Table::Users, ScimColumn::Created) => "users.created_at",
        (Table::Users, ScimColumn::LastModified) => "users.updated_at",
        (Table::Users, ScimColumn::Active) => "users.status",
        (Table::Groups, ScimColumn::Id) => "groups.id",
        (Table::Groups, ScimColumn::Name) => "groups.name_lower",
        (Table::Groups, ScimColumn::ExternalId) => "scim_groups.external_id",
        (Table::Groups, ScimColumn::Created) => "groups.created_at",
        (Table::Groups, ScimColumn::LastModified) => "groups.updated_at",
        // Not group columns: the core never asks; a constant keeps SQL valid.
        (Table::Groups, ScimColumn::Email | ScimColumn::Active) => "NULL",
    }
}

pub(crate) fn doc(doc: ScimDoc) -> &'static str {
    match doc {
        ScimDoc::Claims => "users.claims",
        ScimDoc::Attributes => "users.attributes",
        ScimDoc::Resource => "scim_users.resource",
        ScimDoc::Element => ELEMENT,
    }
}

/// Writes `cond` as a parenthesised boolean expression.
pub(crate) fn write<D: Dialect>(sql: &mut SqlBuilder, table: Table, cond: &ScimCond) {
    match cond {
        ScimCond::True => {
            sql.push("(1 = 1)");
        }
        ScimCond::False => {
            sql.push("(1 = 0)");
        }
        ScimCond::Not(inner) => {
            // NULLs (absent values) make the inner condition false, so NOT is true.
            sql.push("(NOT COALESCE(");
            write::<D>(sql, table, inner);
            sql.push(", 1 = 0))");
        }
        ScimCond::And(a, b) => {
            sql.push("(");
            write::<D>(sql, table, a);
            sql.push(" AND ");
            write::<D>(sql, table, b);
            sql.push(")");
        }
        ScimCond::Or(a, b) => {
            sql.push("(");
            write::<D>(sql, table, a);
            sql.push(" OR ");
            write::<D>(sql, table, b);
            sql.push(")");
        }
        ScimCond::Column(col, op, value) => write_column::<D>(sql, table, *col, *op, value),
        ScimCond::ColumnPresent(col) => {
            let name = column(table, *col);
            sql.push("(").push(name).push(" IS NOT NULL AND ");
            sql.push(name).push(" <> '')");
        }
        ScimCond::Json {
            doc: d,
            path,
            op,
            value,
            case_exact,
        } => match value {
            ScimValue::Bool(b) if *op == ScimOp::Eq => D::bool_at(sql, doc(*d), path, *b),
            ScimValue::Text(text) => {
                let lhs = |sql: &mut SqlBuilder| {
                    if !case_exact {
                        sql.push("lower(");
                    }
                    D::string_at(sql, doc(*d), path);
                    if !case_exact {
                        sql.push(")");
                    }
                };
                compare_text::<D>(sql, &lhs, *op, text);
            }
            ScimValue::Bool(_) | ScimValue::Millis(_) => {
                sql.push("(1 = 0)");
            }
        },
        ScimCond::JsonPresent { doc: d, path } => D::present_at(sql, doc(*d), path),
        ScimCond::Any { doc: d, path, cond } => {
            sql.push("EXISTS (SELECT 1");
            D::elements_at(sql, doc(*d), path);
            sql.push(" AND ");
            write::<D>(sql, table, cond);
            sql.push(")");
        }
        ScimCond::Email(op, text) => write_email::<D>(sql, *op, text),
        ScimCond::MemberOf(group) => {
            sql.push("EXISTS (SELECT 1 FROM group_members WHERE group_members.user_id = users.id AND group_members.group_id = ")
                .arg(Arg::Text(group.to_string()))
                .push(")");
        }
        ScimCond::HasMember(user) => {
            sql.push("EXISTS (SELECT 1 FROM group_members WHERE group_members.group_id = groups.id AND group_members.user_id = ")
                .arg(Arg::Text(user.to_string()))
                .push(")");
        }
    }
}

fn write_column<D: Dialect>(
    sql: &mut SqlBuilder,
    table: Table,
    col: ScimColumn,
    op: ScimOp,
    value: &ScimValue,
) {
    let name = column(table, col);
    match (col, value) {
        (ScimColumn::Active, ScimValue::Bool(active)) if op == ScimOp::Eq => {
            sql.push("(").push(name);
            sql.push(if *active {
                " IN ('active', 'locked_out'))"
            } else {
                " NOT IN ('active', 'locked_out'))"
            });
        }
        (ScimColumn::Created | ScimColumn::LastModified, ScimValue::Millis(at)) => {
            let cmp = match op {
                ScimOp::Eq => " = ",
                ScimOp::Gt => " > ",
                ScimOp::Ge => " >= ",
                ScimOp::Lt => " < ",
                ScimOp::Le => " <= ",
                ScimOp::Co | ScimOp::Sw | ScimOp::Ew => {
                    sql.push("(1 = 0)");
                    return;
                }
            };
            sql.push("(")
                .push(name)
                .push(cmp)
                .arg(Arg::Int(*at))
                .push(")");
        }
        (_, ScimValue::Text(text)) => {
            // `sw` on an indexed column is a range scan.
            if op == ScimOp::Sw
                && let Some(upper) = cursor::prefix_successor(text)
            {
                sql.push("(")
                    .push(name)
                    .push(" >= ")
                    .arg(Arg::Text(text.clone()));
                sql.push(" AND ")
                    .push(name)
                    .push(" < ")
                    .arg(Arg::Text(upper));
                sql.push(")");
                return;
            }
            let lhs = |sql: &mut SqlBuilder| {
                sql.push(name);
            };
            compare_text::<D>(sql, &lhs, op, text);
        }
        _ => {
            sql.push("(1 = 0)");
        }
    }
}

/// Some address in `user_emails` (migration 0011) compares with `text`:
/// `eq` and `sw` are served by the `value_lower` index, `co` and `ew` by the
/// engine's trigram index, then checked exactly.
fn write_email<D: Dialect>(sql: &mut SqlBuilder, op: ScimOp, text: &str) {
    sql.push("(users.id IN (SELECT user_emails.user_id FROM user_emails WHERE ");
    let exact = |sql: &mut SqlBuilder| {
        compare_text::<D>(
            sql,
            &|sql| {
                sql.push("user_emails.value_lower");
            },
            op,
            text,
        );
    };
    match (op, cursor::prefix_successor(text)) {
        (ScimOp::Sw, Some(upper)) => {
            sql.push("user_emails.value_lower >= ")
                .arg(Arg::Text(text.to_owned()))
                .push(" AND user_emails.value_lower < ")
                .arg(Arg::Text(upper));
        }
        (ScimOp::Co | ScimOp::Ew, _) => {
            if D::email_trigram_filter(sql, text) {
                sql.push(" AND ");
            }
            exact(sql);
        }
        _ => exact(sql),
    }
    sql.push("))");
}

/// `lhs op text` for text; `lhs` writes the left-hand expression (as often as needed).
fn compare_text<D: Dialect>(
    sql: &mut SqlBuilder,
    lhs: &dyn Fn(&mut SqlBuilder),
    op: ScimOp,
    text: &str,
) {
    let arg = || Arg::Text(text.to_owned());
    sql.push("(");
    match op {
        ScimOp::Eq => {
            lhs(sql);
            sql.push(" = ").arg(arg());
        }
        ScimOp::Co | ScimOp::Sw => {
            sql.push(D::POSITION).push("(");
            lhs(sql);
            sql.push(", ").arg(arg());
            sql.push(if op == ScimOp::Co { ") > 0" } else { ") = 1" });
        }
        ScimOp::Ew => {
            sql.push("length(");
            lhs(sql);
            sql.push(") >= length(").arg(arg()).push(") AND substr(");
            lhs(sql);
            sql.push(", length(");
            lhs(sql);
            sql.push(") - length(")
                .arg(arg())
                .push(") + 1) = ")
                .arg(arg());
        }
        ScimOp::Gt | ScimOp::Ge | ScimOp::Lt | ScimOp::Le => {
            let cmp = match op {
                ScimOp::Gt => " > ",
                ScimOp::Ge => " >= ",
                ScimOp::Lt => " < ",
                _ => " <= ",
            };
            lhs(sql);
            sql.push(D::CODE_POINT_ORDER).push(cmp).arg(arg());
            sql.push(D::CODE_POINT_ORDER);
        }
    }
    sql.push(")");
}
