/** The verbs of `natfw`, in the order `natfw --help` lists them. Each module exports `register`. */
import type { Command } from 'commander';
import { register as decode } from './decode';
import { register as demo } from './demo';
import { register as registerExplain } from './explain';
import { register as registerPinhole } from './pinhole';
import { register as session } from './session';
import { register as sim } from './sim';
import { register as testbed } from './testbed';
import { register as token } from './token';

export const VERBS: Array<(program: Command) => void> = [decode, sim, testbed, registerPinhole, registerExplain, token, session, demo];
