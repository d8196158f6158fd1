DROP TABLE dw.unknown_member_expired;
