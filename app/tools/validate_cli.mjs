// validate_cli.mjs -- runs app/web/js/validate.js under node, for tests: reads one JSON
// document per line on stdin (a larva report), prints per line the refusals as JSON
// ([{path, keyword}], [] for a valid report). argv[2]: the folder with larva.json and defs.json.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { makeLarvaValidator } from '../web/js/validate.js';

const dir = process.argv[2];
const docs = {};
for (const name of ['larva.json', 'defs.json']) {
    docs[name] = JSON.parse(readFileSync(dir + '/' + name, 'utf8'));
}
const validate = makeLarvaValidator(docs);
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
    if (line.trim() !== '') {
        console.log(JSON.stringify(validate(JSON.parse(line))));
    }
}
