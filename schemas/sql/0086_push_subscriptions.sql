-- Web Push (issue 22, docs/people.md "Web Push"): where to tell a signed-in
-- person's browser that one of their incidents changed while the phone page is
-- closed. Only what sending needs: the push service's endpoint and the
-- browser's two public keys (p256dh, auth; the payload is encrypted to them).
-- Who may see which incident is judged at sending time from the account, so
-- nothing of the incidents is kept here. The account goes, its subscriptions go.
CREATE TABLE push_subscriptions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    endpoint   text NOT NULL UNIQUE,
    p256dh     text NOT NULL,
    auth       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_account ON push_subscriptions (account_id);
