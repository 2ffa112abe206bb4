-- Loyalty tier reviews (issue 23): the sweep finds the members whose
-- reward-given tier floor ends, without reading every account.
CREATE INDEX loyalty_accounts_floor ON loyalty_accounts (floor_until) WHERE tier_floor <> '';
