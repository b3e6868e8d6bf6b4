/** Runs before every test file: what the helpers created is removed when the file is done. */
import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/temp.js';

afterAll(removeTempDirs);
