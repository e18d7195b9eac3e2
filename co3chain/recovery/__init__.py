"""Lost-key recovery of citizens (KeyRecovery contract): typed data of the old key's cancel, the audit of
recoveries from events. See docs/recovery.md."""
