"""The database gate as server-side functions (PostgreSQL only; SQLite keeps the Python path).

`orders_place_one` places one order in one call: the window, limit and stock checks, the order's
INSERT and its event, the conditional UPDATE of the voucher's stock and the low-stock claim, and
answers a code the service maps to the same DomainError as the Python path (orders/placing.py).
`orders_place_batch` writes a batch of orders the Redis gate accepted (several vouchers at once),
one voucher group at a time, all or nothing per group: a group with anything unusual in it is
answered `single` and the intake decides it order by order.

Each runs in the caller's transaction: called in autocommit, the checks, the writes and the commit
are one round trip, and the voucher's row lock is held only for the server's own work."""

from django.db import migrations

PLACE_ONE = r"""
CREATE OR REPLACE FUNCTION orders_place_one(
    p_order_id uuid,
    p_voucher_id bigint,
    p_user_id bigint,
    p_at timestamptz,
    p_now timestamptz,
    p_accepted_by text,
    p_from_status text,
    OUT o_code text,
    OUT o_held integer,
    OUT o_amount integer,
    OUT o_organization_id bigint,
    OUT o_single_slot boolean,
    OUT o_per_user_limit integer,
    OUT o_expires_at timestamptz,
    OUT o_begins_at timestamptz,
    OUT o_ends_at timestamptz,
    OUT o_low_stock boolean
) LANGUAGE plpgsql AS $fn$
DECLARE
    v record;
    inserted uuid;
    taken integer;
BEGIN
    o_held := 0;
    o_low_stock := false;
    SELECT id, status, stock, price, organization_id, per_user_limit, begins_at, ends_at,
           payment_window_seconds
      INTO v FROM coupons_voucher WHERE id = p_voucher_id;
    IF NOT FOUND OR v.status <> 'listed' THEN
        o_code := 'not_found';
        RETURN;
    END IF;
    o_amount := v.price;
    o_organization_id := v.organization_id;
    o_single_slot := v.per_user_limit = 1;
    o_per_user_limit := v.per_user_limit;
    o_begins_at := v.begins_at;
    o_ends_at := v.ends_at;
    IF v.begins_at IS NOT NULL AND p_at < v.begins_at THEN
        o_code := 'not_started';
        RETURN;
    END IF;
    IF v.ends_at IS NOT NULL AND p_at >= v.ends_at THEN
        o_code := 'ended';
        RETURN;
    END IF;
    IF v.stock IS NOT NULL AND v.stock <= 0 THEN
        o_code := 'sold_out';
        RETURN;
    END IF;
    IF v.per_user_limit > 1 THEN
        SELECT count(*) INTO o_held FROM orders_order
         WHERE user_id = p_user_id AND voucher_id = p_voucher_id
           AND status IN ('processing', 'pending_payment', 'paid', 'used');
        IF o_held >= v.per_user_limit THEN
            o_code := 'limit';
            RETURN;
        END IF;
    END IF;
    o_expires_at := p_now + make_interval(secs => v.payment_window_seconds);

    -- The order first (no lock on the voucher yet); a slot already held (the partial unique index)
    -- or an id already written inserts nothing.
    INSERT INTO orders_order (
        id, user_id, voucher_id, organization_id, status, amount, single_slot, accepted_by,
        created_at, updated_at, expires_at, paid_at, used_at, stock_released, failure_code,
        failure_reason
    ) VALUES (
        p_order_id, p_user_id, p_voucher_id, v.organization_id, 'pending_payment', v.price,
        v.per_user_limit = 1, p_accepted_by, p_at, p_now, o_expires_at, NULL, NULL, false, '', ''
    ) ON CONFLICT DO NOTHING RETURNING id INTO inserted;
    IF inserted IS NULL THEN
        IF EXISTS (SELECT 1 FROM orders_order WHERE id = p_order_id) THEN
            o_code := 'exists';
        ELSE
            o_code := 'already_purchased';
        END IF;
        RETURN;
    END IF;
    INSERT INTO orders_orderevent (order_id, from_status, to_status, actor_id, reason,
                                   compensation_run_id, created_at)
    VALUES (p_order_id, p_from_status, 'pending_payment', p_user_id, 'purchased', NULL, p_now);

    -- The unit, last: the voucher's row lock is held from here to the commit. The status is judged
    -- on the row the UPDATE locks (a delist committed while it waited takes nothing).
    IF v.stock IS NULL THEN
        UPDATE coupons_voucher SET sold_count = sold_count + 1
         WHERE id = p_voucher_id AND status = 'listed'
        RETURNING 1 INTO taken;
    ELSE
        UPDATE coupons_voucher SET stock = stock - 1, sold_count = sold_count + 1
         WHERE id = p_voucher_id AND status = 'listed' AND stock >= 1
        RETURNING 1 INTO taken;
    END IF;
    IF taken IS NULL THEN
        DELETE FROM orders_orderevent WHERE order_id = p_order_id;
        DELETE FROM orders_order WHERE id = p_order_id;
        IF EXISTS (SELECT 1 FROM coupons_voucher WHERE id = p_voucher_id AND status = 'listed') THEN
            o_code := 'sold_out';
        ELSE
            o_code := 'not_found';
        END IF;
        RETURN;
    END IF;

    -- A larger limit, counted under the row lock (a fresh snapshot: every order committed before
    -- the lock was granted is seen).
    IF v.per_user_limit > 1 THEN
        SELECT count(*) INTO o_held FROM orders_order
         WHERE user_id = p_user_id AND voucher_id = p_voucher_id
           AND status IN ('processing', 'pending_payment', 'paid', 'used');
        IF o_held > v.per_user_limit THEN
            UPDATE coupons_voucher
               SET stock = CASE WHEN stock IS NULL THEN NULL ELSE stock + 1 END,
                   sold_count = sold_count - 1
             WHERE id = p_voucher_id;
            DELETE FROM orders_orderevent WHERE order_id = p_order_id;
            DELETE FROM orders_order WHERE id = p_order_id;
            o_held := o_held - 1;
            o_code := 'limit';
            RETURN;
        END IF;
    END IF;

    -- The low-stock crossing, claimed once (the row is locked by this transaction already).
    UPDATE coupons_voucher SET low_stock_alerted_at = p_now
     WHERE id = p_voucher_id AND low_stock_alerted_at IS NULL AND low_stock_threshold > 0
       AND stock IS NOT NULL AND stock <= low_stock_threshold;
    o_low_stock := FOUND;
    o_code := 'ok';
END
$fn$;
"""

PLACE_BATCH = r"""
CREATE OR REPLACE FUNCTION orders_place_batch(
    p_ids uuid[],
    p_vouchers bigint[],
    p_users bigint[],
    p_accepted_ms bigint[],
    p_now timestamptz
) RETURNS TABLE (o_order_id uuid, o_voucher_id bigint, o_outcome text, o_status text,
                 o_failure_code text)
LANGUAGE plpgsql AS $fn$
DECLARE
    vid bigint;
    v record;
    wanted integer;
    written integer;
    taken integer;
    f_ids uuid[];
    f_vouchers bigint[];
    f_users bigint[];
    f_at timestamptz[];
BEGIN
    -- Orders written before (a redelivery): the caller only tidies the gate for them.
    RETURN QUERY
        SELECT o.id, o.voucher_id, 'exists'::text, o.status::text, o.failure_code::text
          FROM orders_order o WHERE o.id = ANY (p_ids);

    SELECT array_agg(b.id), array_agg(b.voucher_id), array_agg(b.user_id),
           array_agg(to_timestamp(b.ms / 1000.0))
      INTO f_ids, f_vouchers, f_users, f_at
      FROM unnest(p_ids, p_vouchers, p_users, p_accepted_ms) AS b(id, voucher_id, user_id, ms)
     WHERE NOT EXISTS (SELECT 1 FROM orders_order o WHERE o.id = b.id);
    IF f_ids IS NULL THEN
        RETURN;
    END IF;

    FOR vid IN SELECT DISTINCT x FROM unnest(f_vouchers) AS x ORDER BY 1 LOOP
        BEGIN
            SELECT c.id, c.status, c.stock, c.price, c.organization_id, c.per_user_limit,
                   c.begins_at, c.ends_at, c.payment_window_seconds
              INTO v FROM coupons_voucher c WHERE c.id = vid;
            IF NOT FOUND OR v.status <> 'listed' OR EXISTS (
                SELECT 1 FROM unnest(f_ids, f_vouchers, f_users, f_at)
                    AS r(id, voucher_id, user_id, at)
                 WHERE r.voucher_id = vid
                   AND ((v.begins_at IS NOT NULL AND r.at < v.begins_at)
                        OR (v.ends_at IS NOT NULL AND r.at >= v.ends_at))
            ) THEN
                RAISE EXCEPTION 'single';
            END IF;
            SELECT count(*) INTO wanted FROM unnest(f_ids, f_vouchers, f_users, f_at)
                AS r(id, voucher_id, user_id, at) WHERE r.voucher_id = vid;
            WITH ins AS (
                INSERT INTO orders_order (
                    id, user_id, voucher_id, organization_id, status, amount, single_slot,
                    accepted_by, created_at, updated_at, expires_at, paid_at, used_at,
                    stock_released, failure_code, failure_reason
                )
                SELECT r.id, r.user_id, vid, v.organization_id, 'pending_payment', v.price,
                       v.per_user_limit = 1, 'redis', r.at, p_now,
                       p_now + make_interval(secs => v.payment_window_seconds), NULL, NULL, false,
                       '', ''
                  FROM unnest(f_ids, f_vouchers, f_users, f_at)
                      AS r(id, voucher_id, user_id, at) WHERE r.voucher_id = vid
                ON CONFLICT DO NOTHING
                RETURNING id, user_id
            ), ev AS (
                INSERT INTO orders_orderevent (order_id, from_status, to_status, actor_id, reason,
                                               compensation_run_id, created_at)
                SELECT ins.id, 'processing', 'pending_payment', ins.user_id, 'purchased', NULL, p_now
                  FROM ins
                RETURNING 1
            )
            SELECT count(*) INTO written FROM ev;
            IF written <> wanted THEN
                RAISE EXCEPTION 'single';  -- a slot already held, or the same order racing
            END IF;
            IF v.stock IS NULL THEN
                UPDATE coupons_voucher SET sold_count = sold_count + written
                 WHERE id = vid AND status = 'listed' RETURNING 1 INTO taken;
            ELSE
                UPDATE coupons_voucher SET stock = stock - written, sold_count = sold_count + written
                 WHERE id = vid AND status = 'listed' AND stock >= written RETURNING 1 INTO taken;
            END IF;
            IF taken IS NULL THEN
                RAISE EXCEPTION 'single';
            END IF;
            IF v.per_user_limit > 1 AND EXISTS (
                SELECT 1 FROM orders_order o
                 WHERE o.voucher_id = vid
                   AND o.user_id IN (SELECT r.user_id FROM unnest(f_ids, f_vouchers, f_users, f_at)
                       AS r(id, voucher_id, user_id, at) WHERE r.voucher_id = vid)
                   AND o.status IN ('processing', 'pending_payment', 'paid', 'used')
                 GROUP BY o.user_id HAVING count(*) > v.per_user_limit
            ) THEN
                RAISE EXCEPTION 'single';
            END IF;
            UPDATE coupons_voucher SET low_stock_alerted_at = p_now
             WHERE id = vid AND low_stock_alerted_at IS NULL AND low_stock_threshold > 0
               AND stock IS NOT NULL AND stock <= low_stock_threshold;
            IF FOUND THEN
                RETURN QUERY SELECT NULL::uuid, vid, 'low_stock'::text, NULL::text, NULL::text;
            END IF;
            RETURN QUERY
                SELECT r.id, vid, 'written'::text, 'pending_payment'::text, ''::text
                  FROM unnest(f_ids, f_vouchers, f_users, f_at)
                      AS r(id, voucher_id, user_id, at) WHERE r.voucher_id = vid;
        EXCEPTION WHEN raise_exception OR integrity_constraint_violation THEN
            -- Everything this group did is undone; the intake decides each order on its own.
            RETURN QUERY
                SELECT r.id, vid, 'single'::text, NULL::text, NULL::text
                  FROM unnest(f_ids, f_vouchers, f_users, f_at)
                      AS r(id, voucher_id, user_id, at) WHERE r.voucher_id = vid;
        END;
    END LOOP;
END
$fn$;
"""

DROP = """
DROP FUNCTION IF EXISTS orders_place_batch(uuid[], bigint[], bigint[], bigint[], timestamptz);
DROP FUNCTION IF EXISTS orders_place_one(uuid, bigint, bigint, timestamptz, timestamptz, text, text);
"""


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL and is a no-op elsewhere (the embedded default, SQLite, keeps
    the Python path of orders/placing.py)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_field_labels"),
        ("coupons", "0005_field_labels"),
    ]

    operations = [PostgresOnlySQL(sql=PLACE_ONE + PLACE_BATCH, reverse_sql=DROP)]
