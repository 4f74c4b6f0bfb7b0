//! Seats: which roles take one of the license's licensed seats, and whether one more fits.

use super::policy::SeatClass;
use super::refusal::Refusal;

/// Whether holding a role of `seat_class` takes a licensed seat: licensed roles always do, free
/// (read-only) roles only where the license does not allow free read-only seats.
pub fn takes_licensed_seat(seat_class: SeatClass, free_read_only_seats: bool) -> bool {
    seat_class == SeatClass::Licensed || !free_read_only_seats
}

/// Whether a holder who moves from a role of class `from` (`None` for someone new: an
/// invitation) to one of class `to` takes one more licensed seat than before.
pub fn needs_another_seat(
    from: Option<SeatClass>,
    to: SeatClass,
    free_read_only_seats: bool,
) -> bool {
    let held = from.is_some_and(|from| takes_licensed_seat(from, free_read_only_seats));
    takes_licensed_seat(to, free_read_only_seats) && !held
}

/// SEAT_LIMIT_REACHED unless one more licensed holder fits beside the `members` holding a
/// licensed seat and the `pending` invitations holding one, within the license's `seats`.
pub fn one_more_fits(members: i64, pending: i64, seats: i64) -> Result<(), Refusal> {
    if members + pending + 1 > seats {
        Err(Refusal::SeatLimitReached { seats })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SeatClass::{Free, Licensed};

    #[test]
    fn licensed_roles_always_take_a_licensed_seat() {
        assert!(takes_licensed_seat(Licensed, true));
        assert!(takes_licensed_seat(Licensed, false));
    }

    #[test]
    fn free_roles_take_no_licensed_seat_only_where_the_license_allows_free_seats() {
        assert!(!takes_licensed_seat(Free, true));
        assert!(takes_licensed_seat(Free, false));
    }

    #[test]
    fn a_new_holder_of_a_licensed_role_needs_a_seat_and_of_a_free_role_does_not() {
        assert!(needs_another_seat(None, Licensed, true));
        assert!(!needs_another_seat(None, Free, true));
        assert!(needs_another_seat(None, Free, false));
    }

    #[test]
    fn moving_between_roles_needs_a_seat_only_when_leaving_a_free_one_for_a_licensed_one() {
        assert!(needs_another_seat(Some(Free), Licensed, true));
        assert!(!needs_another_seat(Some(Licensed), Licensed, true));
        assert!(!needs_another_seat(Some(Licensed), Free, true));
        assert!(!needs_another_seat(Some(Free), Free, true));
        // Without free seats every role already holds a licensed one.
        assert!(!needs_another_seat(Some(Free), Licensed, false));
    }

    /// The refusal of a license of `seats` with none left.
    fn full(seats: i64) -> Result<(), Refusal> {
        Err(Refusal::SeatLimitReached { seats })
    }

    #[test]
    fn one_more_holder_fits_while_a_seat_is_left() {
        assert_eq!(one_more_fits(1, 1, 3), Ok(()));
        assert_eq!(one_more_fits(0, 0, 1), Ok(()));
    }

    #[test]
    fn pending_invitations_hold_their_seat() {
        assert_eq!(one_more_fits(2, 1, 3), full(3));
        assert_eq!(one_more_fits(0, 3, 3), full(3));
    }

    #[test]
    fn no_holder_fits_a_license_of_no_seats_or_one_already_over() {
        assert_eq!(one_more_fits(0, 0, 0), full(0));
        assert_eq!(one_more_fits(5, 0, 3), full(3));
    }
}
