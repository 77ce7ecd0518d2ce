// validate.js -- a larva report checked on the phone with the contract's own rules: the JSON
// Schemas of schema/json/ (larva.json and defs.json, served with the app and read as they are,
// never retyped) and the rules of protocol.md section 9 that apply to a larva report (9.2 real
// calendar dates, 9.4 positive <= inspected, one item per (type, location), larvae_found).
//
// The schema interpreter knows exactly the keywords those files use (draft 2020-12 subset). A
// keyword it does not know makes compile() throw: a schema that grows a new rule fails loudly
// here (and in test_app_validate.py) instead of being skipped on the phone.
//
// Not for: the I-JSON rules of 9.1 (the app makes its JSON with JSON.stringify from numbers,
// strings and booleans it built itself), or the station binding (no station in a larva report).

import { fetchOk } from './net.js';

const KNOWN = new Set([
    '$schema', '$id', '$defs', '$ref', 'title', 'description', 'examples', 'type', 'enum',
    'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'not', 'anyOf', 'properties',
    'required', 'additionalProperties', 'patternProperties', 'propertyNames', 'items',
    'maxItems', 'minItems', 'uniqueItems', 'dependentRequired',
]);

function typeOk(type, v) {
    switch (type) {
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array': return Array.isArray(v);
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isFinite(v) && Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'boolean': return typeof v === 'boolean';
    case 'null': return v === null;
    default: throw new Error('validate: unknown type ' + type);
    }
}

function codePoints(s) {
    return Array.from(s).length;
}

function sameJson(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
}

// A validator over the schema documents `docs` ({file name: parsed JSON}); root is the file
// name of the message's schema. Returns validate(value) -> [{path, keyword}] (empty: valid).
export function compile(docs, root) {
    const regexCache = new Map();

    function regex(p) {
        if (!regexCache.has(p)) {
            regexCache.set(p, new RegExp(p, 'u'));
        }
        return regexCache.get(p);
    }

    function resolve(ref, file) {
        const [target, frag] = ref.split('#');
        const name = target === '' ? file : target;
        let node = docs[name];
        if (node === undefined) {
            throw new Error('validate: no schema file ' + name);
        }
        for (const part of (frag || '').split('/').filter((x) => x !== '')) {
            node = node[part];
            if (node === undefined) {
                throw new Error('validate: unresolved $ref ' + ref);
            }
        }
        return { node, file: name };
    }

    function check(schema, file, v, path, errs) {
        for (const key of Object.keys(schema)) {
            if (!KNOWN.has(key)) {
                throw new Error('validate: keyword ' + key + ' is not supported (' + file + ')');
            }
        }
        const fail = (keyword, at = path) => errs.push({ path: at, keyword });
        if (schema.$ref !== undefined) {
            const r = resolve(schema.$ref, file);
            check(r.node, r.file, v, path, errs);
        }
        if (schema.type !== undefined && !typeOk(schema.type, v)) {
            fail('type');
            return;
        }
        if (schema.enum !== undefined && !schema.enum.some((e) => sameJson(e, v))) {
            fail('enum');
        }
        if (typeof v === 'number') {
            if (schema.minimum !== undefined && v < schema.minimum) {
                fail('minimum');
            }
            if (schema.maximum !== undefined && v > schema.maximum) {
                fail('maximum');
            }
        }
        if (typeof v === 'string') {
            if (schema.minLength !== undefined && codePoints(v) < schema.minLength) {
                fail('minLength');
            }
            if (schema.maxLength !== undefined && codePoints(v) > schema.maxLength) {
                fail('maxLength');
            }
            if (schema.pattern !== undefined && !regex(schema.pattern).test(v)) {
                fail('pattern');
            }
        }
        if (schema.not !== undefined) {
            const sub = [];
            check(schema.not, file, v, path, sub);
            if (sub.length === 0) {
                fail('not');
            }
        }
        if (schema.anyOf !== undefined) {
            const ok = schema.anyOf.some((s) => {
                const sub = [];
                check(s, file, v, path, sub);
                return sub.length === 0;
            });
            if (!ok) {
                fail('anyOf');
            }
        }
        if (Array.isArray(v)) {
            if (schema.maxItems !== undefined && v.length > schema.maxItems) {
                fail('maxItems');
            }
            if (schema.minItems !== undefined && v.length < schema.minItems) {
                fail('minItems');
            }
            if (schema.uniqueItems) {
                const seen = new Set(v.map((x) => JSON.stringify(x)));
                if (seen.size !== v.length) {
                    fail('uniqueItems');
                }
            }
            if (schema.items !== undefined) {
                v.forEach((item, i) => check(schema.items, file, item, path + '/' + i, errs));
            }
        }
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
            checkObject(schema, file, v, path, errs, fail);
        }
    }

    function checkObject(schema, file, v, path, errs, fail) {
        const props = schema.properties || {};
        const patterns = Object.entries(schema.patternProperties || {});
        for (const name of schema.required || []) {
            if (!Object.prototype.hasOwnProperty.call(v, name)) {
                fail('required', path + '/' + name);
            }
        }
        for (const [name, needs] of Object.entries(schema.dependentRequired || {})) {
            if (Object.prototype.hasOwnProperty.call(v, name)) {
                for (const other of needs) {
                    if (!Object.prototype.hasOwnProperty.call(v, other)) {
                        fail('dependentRequired', path + '/' + other);
                    }
                }
            }
        }
        for (const [name, value] of Object.entries(v)) {
            const at = path + '/' + name;
            let matched = false;
            if (schema.propertyNames !== undefined) {
                const sub = [];
                check(schema.propertyNames, file, name, at, sub);
                if (sub.length > 0) {
                    fail('propertyNames', at);
                }
            }
            if (Object.prototype.hasOwnProperty.call(props, name)) {
                matched = true;
                check(props[name], file, value, at, errs);
            }
            for (const [p, s] of patterns) {
                if (regex(p).test(name)) {
                    matched = true;
                    check(s, file, value, at, errs);
                }
            }
            if (!matched && schema.additionalProperties === false) {
                fail('additionalProperties', at);
            }
        }
    }

    if (docs[root] === undefined) {
        throw new Error('validate: no schema file ' + root);
    }
    return (value) => {
        const errs = [];
        check(docs[root], root, value, '', errs);
        return errs;
    };
}

// protocol.md 9.2: a timestamp that matches the pattern names a real calendar date.
function realDate(ts) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T/.exec(ts);
    if (m === null) {
        return true; // the pattern reports it
    }
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 &&
        d.getUTCDate() === +m[3];
}

// protocol.md section 9's rules for a larva report (9.2, 9.4), as [{path, keyword}].
export function larvaRules(r) {
    const errs = [];
    if (typeof r.ts === 'string' && !realDate(r.ts)) {
        errs.push({ path: '/ts', keyword: 'date' });
    }
    if (!Array.isArray(r.containers)) {
        return errs;
    }
    const seen = new Set();
    let anyPositive = false;
    r.containers.forEach((c, i) => {
        if (c === null || typeof c !== 'object') {
            return;
        }
        if (typeof c.positive === 'number' && typeof c.inspected === 'number' &&
            c.positive > c.inspected) {
            errs.push({ path: '/containers/' + i + '/positive', keyword: 'positive_le_inspected' });
        }
        if (typeof c.positive === 'number' && c.positive > 0) {
            anyPositive = true;
        }
        const key = c.type + '/' + c.location;
        if (seen.has(key)) {
            errs.push({ path: '/containers/' + i + '/type', keyword: 'duplicate_container' });
        }
        seen.add(key);
    });
    if (typeof r.larvae_found === 'boolean' && r.larvae_found !== anyPositive) {
        errs.push({ path: '/larvae_found', keyword: 'larvae_found' });
    }
    return errs;
}

// Every reason a larva report would be refused: the schema's, then section 9's.
export function makeLarvaValidator(docs) {
    const schema = compile(docs, 'larva.json');
    return (report) => schema(report).concat(larvaRules(report));
}

// Loads larva.json and defs.json from the app's schema/ folder (the build copies them from
// schema/json/). Returns the validator.
export async function loadLarvaValidator(base = 'schema/') {
    const docs = {};
    for (const name of ['larva.json', 'defs.json']) {
        docs[name] = await (await fetchOk(base + name)).json();
    }
    return makeLarvaValidator(docs);
}
