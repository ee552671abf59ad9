//! Who may see a channel, and which connected users an event about it reaches.
//! The one rule: public channels are for everyone; private ones for their members and admins.

use std::collections::HashSet;
use std::sync::Arc;

/// Whether a user may see (read, post to, be told about) a channel.
pub fn can_see_channel(private: bool, admin: bool, member: bool) -> bool {
    !private || admin || member
}

/// The users an event is delivered to.
#[derive(Debug, Clone)]
pub enum Audience {
    /// Every connected user.
    Everyone,
    /// Members of a private channel, plus admins.
    Members(Arc<HashSet<i64>>),
    /// Users who are neither in the set nor admins: those a private channel hides from.
    NonMembers(Arc<HashSet<i64>>),
    /// One user.
    User(i64),
}

impl Audience {
    /// The audience of an event in a channel with this privacy and these explicit members.
    pub fn of_channel(private: bool, members: impl IntoIterator<Item = i64>) -> Audience {
        if private { Audience::Members(Arc::new(members.into_iter().collect())) } else { Audience::Everyone }
    }

    /// Whether a user with this id and admin flag is in the audience.
    pub fn includes(&self, user_id: i64, admin: bool) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Members(members) => admin || members.contains(&user_id),
            Audience::NonMembers(members) => !admin && !members.contains(&user_id),
            Audience::User(id) => *id == user_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_channels_are_for_members_and_admins() {
        assert!(can_see_channel(false, false, false));
        assert!(can_see_channel(true, true, false));
        assert!(can_see_channel(true, false, true));
        assert!(!can_see_channel(true, false, false));
    }

    #[test]
    fn audiences() {
        let members = Audience::of_channel(true, [1, 2]);
        assert!(members.includes(1, false));
        assert!(!members.includes(3, false));
        assert!(members.includes(3, true));
        assert!(Audience::of_channel(false, [1]).includes(9, false));
        let hidden = Audience::NonMembers(Arc::new([1].into()));
        assert!(hidden.includes(2, false));
        assert!(!hidden.includes(1, false));
        assert!(!hidden.includes(2, true));
        assert!(Audience::User(4).includes(4, false) && !Audience::User(4).includes(5, true));
    }
}
