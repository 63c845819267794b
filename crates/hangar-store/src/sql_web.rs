//! Row mapping for site administration, organization invitations and the OAuth device flow, expanded
//! next to [`crate::sql::impl_store`]'s other mappers for both backends.

pub(crate) const DEVICE_COLS: &str =
    "device_hash, user_code, client_id, status, user_id, role, token_name, created_at, expires_at, last_poll_at";

macro_rules! web_row_mappers {
    () => {
        fn invitation_at(r: &DbRow, i: usize) -> Result<Invitation, sqlx::Error> {
            Ok(Invitation {
                id: r.try_get(i)?,
                org_id: r.try_get(i + 1)?,
                user_id: r.try_get(i + 2)?,
                role: r.try_get(i + 3)?,
                invited_by: r.try_get(i + 4)?,
                created_at: r.try_get(i + 5)?,
            })
        }

        fn device_code_from(r: &DbRow) -> Result<DeviceCode, sqlx::Error> {
            Ok(DeviceCode {
                device_hash: r.try_get(0)?,
                user_code: r.try_get(1)?,
                client_id: r.try_get(2)?,
                status: r.try_get(3)?,
                user_id: r.try_get(4)?,
                role: r.try_get(5)?,
                token_name: r.try_get(6)?,
                created_at: r.try_get(7)?,
                expires_at: r.try_get(8)?,
                last_poll_at: r.try_get(9)?,
            })
        }
    };
}

pub(crate) use web_row_mappers;
