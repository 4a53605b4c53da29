//! The RUN (Rol Único Nacional): a number and its módulo 11 check digit.

use std::fmt;
use std::str::FromStr;

/// A RUN whose check digit has been verified. Stored as its number; the digit is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Run(u32);

/// Why a text is not a RUN. The variants are stable; callers map them to `RUN_INVALIDO`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("the RUN is empty")]
    Empty,
    #[error("the RUN may hold only digits, dots, one dash and a final K")]
    Format,
    #[error("the RUN number must be between 1 and {}", Run::MAX)]
    OutOfRange,
    #[error("the check digit does not match the RUN number")]
    CheckDigit,
}

impl Run {
    /// The largest RUN number accepted (eight digits).
    pub const MAX: u32 = 99_999_999;

    /// Parses `12.345.678-5`, `12345678-5`, `123456785` or a lower-case `k` check digit.
    /// Surrounding white space is ignored; dots, when present, must group thousands.
    pub fn parse(input: &str) -> Result<Run, RunError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(RunError::Empty);
        }
        let (body, dv) = match text.rsplit_once('-') {
            Some((body, dv)) => (body, dv),
            None => text.split_at(text.len() - text.chars().last().map_or(0, char::len_utf8)),
        };
        let mut dv_chars = dv.chars();
        let dv = match (dv_chars.next(), dv_chars.next()) {
            (Some(c), None) => c.to_ascii_uppercase(),
            _ => return Err(RunError::Format),
        };
        if !(dv.is_ascii_digit() || dv == 'K') {
            return Err(RunError::Format);
        }
        let digits = Self::strip_dots(body)?;
        if digits.is_empty() {
            return Err(RunError::Format);
        }
        if digits.len() > 8 {
            return Err(RunError::OutOfRange);
        }
        let numero: u32 = digits.parse().map_err(|_| RunError::Format)?;
        let run = Run::from_numero(numero)?;
        if run.dv() != dv {
            return Err(RunError::CheckDigit);
        }
        Ok(run)
    }

    /// A RUN from its number alone (the check digit is computed, so it is always right).
    pub fn from_numero(numero: u32) -> Result<Run, RunError> {
        if numero == 0 || numero > Self::MAX {
            return Err(RunError::OutOfRange);
        }
        Ok(Run(numero))
    }

    pub fn numero(self) -> u32 {
        self.0
    }

    /// The módulo 11 check digit: `0`–`9` or `K`.
    pub fn dv(self) -> char {
        Self::check_digit(self.0)
    }

    /// Digits right to left times 2, 3, 4, 5, 6, 7, 2, 3, …; DV = 11 − (sum mod 11),
    /// where 11 is written `0` and 10 is written `K`.
    pub fn check_digit(numero: u32) -> char {
        let mut n = numero;
        let mut sum = 0;
        let mut factor = 2;
        while n > 0 {
            sum += (n % 10) * factor;
            n /= 10;
            factor = if factor == 7 { 2 } else { factor + 1 };
        }
        match 11 - sum % 11 {
            11 => '0',
            10 => 'K',
            d => char::from_digit(d, 10).unwrap_or('0'),
        }
    }

    /// The RUN with thousands dots, as printed on documents: `12.345.678-5`.
    pub fn dotted(self) -> String {
        let digits = self.0.to_string();
        let mut out = String::with_capacity(digits.len() + 4);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push('.');
            }
            out.push(c);
        }
        out.push('-');
        out.push(self.dv());
        out
    }

    fn strip_dots(body: &str) -> Result<String, RunError> {
        if !body.contains('.') {
            return if body.bytes().all(|b| b.is_ascii_digit()) {
                Ok(body.to_owned())
            } else {
                Err(RunError::Format)
            };
        }
        let groups: Vec<&str> = body.split('.').collect();
        let well_grouped = groups.iter().enumerate().all(|(i, g)| {
            g.bytes().all(|b| b.is_ascii_digit())
                && if i == 0 {
                    (1..=3).contains(&g.len())
                } else {
                    g.len() == 3
                }
        });
        if well_grouped {
            Ok(groups.concat())
        } else {
            Err(RunError::Format)
        }
    }
}

/// Canonical form: number, dash, check digit (`12345678-5`).
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.dv())
    }
}

impl FromStr for Run {
    type Err = RunError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Run::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn design_vectors_parse_in_every_form() {
        for (text, numero) in [
            ("12.345.678-5", 12_345_678),
            ("15.509.661-6", 15_509_661),
            ("30.686.957-4", 30_686_957),
            ("6-K", 6),
            ("10.000.013-K", 10_000_013),
            ("14-0", 14),
        ] {
            let run = Run::parse(text).expect(text);
            assert_eq!(run.numero(), numero, "{text}");
            assert_eq!(run.dotted(), text);
            assert_eq!(Run::parse(&run.to_string()), Ok(run));
            assert_eq!(Run::parse(&run.to_string().replace('-', "")), Ok(run));
            assert_eq!(Run::parse(&text.to_lowercase()), Ok(run));
        }
    }

    #[test]
    fn rejects_what_is_not_a_run() {
        assert_eq!(Run::parse(""), Err(RunError::Empty));
        assert_eq!(Run::parse("   "), Err(RunError::Empty));
        assert_eq!(Run::parse("12.345.678-4"), Err(RunError::CheckDigit));
        assert_eq!(Run::parse("6-0"), Err(RunError::CheckDigit));
        assert_eq!(Run::parse("12,345,678-5"), Err(RunError::Format));
        assert_eq!(Run::parse("1.2345.678-5"), Err(RunError::Format));
        assert_eq!(Run::parse("12345678-55"), Err(RunError::Format));
        assert_eq!(Run::parse("-5"), Err(RunError::Format));
        assert_eq!(Run::parse("abc-5"), Err(RunError::Format));
        assert_eq!(Run::parse("12345678-X"), Err(RunError::Format));
        assert_eq!(Run::parse("0-0"), Err(RunError::OutOfRange));
        assert_eq!(Run::parse("123456789-0"), Err(RunError::OutOfRange));
        assert_eq!(
            Run::parse("1234567890123456789-0"),
            Err(RunError::OutOfRange)
        );
        assert_eq!(Run::parse("５-5"), Err(RunError::Format));
    }

    proptest! {
        #[test]
        fn every_number_round_trips_through_each_form(n in 1u32..=Run::MAX) {
            let run = Run::from_numero(n).unwrap();
            prop_assert_eq!(Run::parse(&run.to_string()), Ok(run));
            prop_assert_eq!(Run::parse(&run.dotted()), Ok(run));
            prop_assert_eq!(Run::parse(&format!("{}{}", n, run.dv())), Ok(run));
            prop_assert_eq!(Run::parse(&format!(" {} ", run.to_string().to_lowercase())), Ok(run));
        }

        #[test]
        fn exactly_one_check_digit_is_accepted(n in 1u32..=Run::MAX, dv in prop::sample::select(vec!['0','1','2','3','4','5','6','7','8','9','K'])) {
            let accepted = Run::parse(&format!("{n}-{dv}")).is_ok();
            prop_assert_eq!(accepted, Run::check_digit(n) == dv);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,24}") {
            let _ = Run::parse(&s);
        }
    }
}
