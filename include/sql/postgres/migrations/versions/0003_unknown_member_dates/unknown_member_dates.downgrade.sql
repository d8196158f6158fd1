DROP TABLE dw.unknown_member_dates;
