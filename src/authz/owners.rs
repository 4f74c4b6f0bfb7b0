//! The last owner: every organization keeps at least one owner through every change.

use super::refusal::Refusal;

/// LAST_OWNER when a change takes the owner role from a member who holds it (`was_owner` and
/// not `stays_owner`: a removal, a demotion, leaving) while `owners`, counted under the
/// organization's lock, leaves nobody else.
pub fn keeps_an_owner(was_owner: bool, stays_owner: bool, owners: u64) -> Result<(), Refusal> {
    if was_owner && !stays_owner && owners <= 1 {
        Err(Refusal::LastOwner)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_demoting_or_letting_the_last_owner_leave_fails() {
        assert_eq!(keeps_an_owner(true, false, 1), Err(Refusal::LastOwner));
    }

    #[test]
    fn an_owner_goes_while_another_owner_stays() {
        assert_eq!(keeps_an_owner(true, false, 2), Ok(()));
    }

    #[test]
    fn the_last_owner_may_keep_the_owner_role() {
        assert_eq!(keeps_an_owner(true, true, 1), Ok(()));
    }

    #[test]
    fn members_who_are_not_owners_come_and_go_whatever_the_owner_count() {
        for owners in [0, 1, 2] {
            assert_eq!(keeps_an_owner(false, false, owners), Ok(()));
            assert_eq!(keeps_an_owner(false, true, owners), Ok(()));
        }
    }

    #[test]
    fn an_owner_count_already_at_zero_still_refuses() {
        // A count read before the holder's own row was seen must not let the change through.
        assert_eq!(keeps_an_owner(true, false, 0), Err(Refusal::LastOwner));
    }
}
