//! Knowledge questions (RFC 8176 `amr` `kba`): a fixed list of questions
//! the user picks from (no free-text questions, which users fill with
//! guessable ones) and the normalisation applied to an answer before it is
//! hashed or checked. The answer is a low-entropy secret, so it is stored
//! only as an argon2id hash through the password hasher; this module only
//! computes.

use unicode_normalization::UnicodeNormalization;

/// Characters an answer must keep after [`normalise`].
pub const MIN_ANSWER_CHARS: usize = 4;
/// Characters an answer may have before normalising.
pub const MAX_ANSWER_CHARS: usize = 200;

/// One question of the built-in list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Question {
    /// Stable id, stored with the factor.
    pub id: &'static str,
    /// The question as the user sees it.
    pub text: &'static str,
}

/// The questions a user can pick from.
pub const QUESTIONS: [Question; 8] = [
    Question {
        id: "first_pet",
        text: "What was the name of your first pet?",
    },
    Question {
        id: "childhood_street",
        text: "What was the name of the street you grew up on?",
    },
    Question {
        id: "first_school",
        text: "What was the name of your first school?",
    },
    Question {
        id: "first_teacher",
        text: "What was the surname of your first teacher?",
    },
    Question {
        id: "parents_meeting_city",
        text: "In which city did your parents meet?",
    },
    Question {
        id: "childhood_friend",
        text: "What was the first name of your best friend as a child?",
    },
    Question {
        id: "first_concert",
        text: "What was the first concert you went to?",
    },
    Question {
        id: "first_car",
        text: "What was the make and model of your first car?",
    },
];

/// The question with this id.
pub fn find(id: &str) -> Option<&'static Question> {
    QUESTIONS.iter().find(|q| q.id == id)
}

/// The answer as compared: Unicode NFKC, lower case, punctuation and
/// symbols dropped, whitespace trimmed and runs of it collapsed to one
/// space, so "  Fluffy  the CAT! " and "fluffy the cat" are the same answer.
pub fn normalise(answer: &str) -> String {
    let folded: String = answer.nfkc().flat_map(char::to_lowercase).collect();
    let kept: String = folded
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| *c == ' ' || c.is_alphanumeric())
        .collect();
    kept.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(answer: &str, expected: &str) {
        assert_eq!(normalise(answer), expected, "{answer:?}");
    }

    #[test]
    fn answers_normalise() {
        check("  Fluffy  the CAT ", "fluffy the cat");
        check("fluffy the cat", "fluffy the cat");
        check("Fluffy, the cat!", "fluffy the cat");
        check("O'Brien", "obrien");
        check("\tMain\u{00a0}Street\n", "main street");
        // NFKC: full-width letters and the "ﬁ" ligature fold to ASCII.
        check("Ｆｉｆｉ", "fifi");
        check("ﬁdo", "fido");
        check("Émile", "émile");
        check("!!!", "");
    }

    #[test]
    fn question_ids_are_unique() {
        for (i, q) in QUESTIONS.iter().enumerate() {
            assert!(QUESTIONS[i + 1..].iter().all(|o| o.id != q.id), "{}", q.id);
            assert_eq!(find(q.id), Some(q));
        }
        assert_eq!(find("favourite_colour"), None);
    }
}
