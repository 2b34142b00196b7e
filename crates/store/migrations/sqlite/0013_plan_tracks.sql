-- Phase 6: plans, their proposals and quotes saved before tracks had one
-- course (sessions and interval) for every area. Each becomes one track
-- holding every area, with the same values; nothing else changes. Safe to
-- run twice: rows that have tracks are left alone.
UPDATE plans SET proposal = json_set(
    json_remove(proposal, '$.sessions', '$.sessions_min', '$.sessions_max', '$.interval'),
    '$.reconciliation', json('[]'),
    '$.tracks', json_array(json_object(
        'areas', (SELECT json_group_array(json_extract(a.value, '$.area')) FROM json_each(proposal, '$.areas') a),
        'indications', (SELECT json_group_array(DISTINCT i.value)
                        FROM json_each(proposal, '$.areas') a, json_each(a.value, '$.indications') i),
        'sessions', json_extract(proposal, '$.sessions'),
        'sessions_min', json_extract(proposal, '$.sessions_min'),
        'sessions_max', json_extract(proposal, '$.sessions_max'),
        'interval', json_extract(proposal, '$.interval'),
        'reconciliation', json(json_extract(proposal, '$.reconciliation'))
    )))
WHERE json_type(proposal, '$.tracks') IS NULL;

UPDATE plans SET quote = json_set(
    json_remove(quote, '$.session_lines', '$.per_session', '$.sessions'),
    '$.tracks', json_array(json_object(
        'areas', (SELECT json_group_array(json_extract(a.value, '$.area')) FROM json_each(plan, '$.areas') a),
        'session_lines', json(json_extract(quote, '$.session_lines')),
        'per_session', json_extract(quote, '$.per_session'),
        'sessions', json_extract(quote, '$.sessions'),
        'course', json_extract(quote, '$.course')
    )))
WHERE quote IS NOT NULL AND json_type(quote, '$.tracks') IS NULL;

UPDATE plans SET plan = json_set(
    json_remove(plan, '$.sessions', '$.sessions_reason', '$.interval', '$.interval_reason'),
    '$.tracks', json_array(json_object(
        'areas', (SELECT json_group_array(json_extract(a.value, '$.area')) FROM json_each(plan, '$.areas') a),
        'sessions', json_extract(plan, '$.sessions'),
        'sessions_reason', json_extract(plan, '$.sessions_reason'),
        'interval', json_extract(plan, '$.interval'),
        'interval_reason', json_extract(plan, '$.interval_reason')
    )))
WHERE json_type(plan, '$.tracks') IS NULL;
