"""Multi-agent environments (PettingZoo) over the games in :mod:`gtalign_sim.game`."""

from .matrix_game import AlwaysCooperate as AlwaysCooperate
from .matrix_game import AlwaysDefect as AlwaysDefect
from .matrix_game import GrimTrigger as GrimTrigger
from .matrix_game import MatrixGameEnv as MatrixGameEnv
from .matrix_game import Policy as Policy
from .matrix_game import RandomPolicy as RandomPolicy
from .matrix_game import TitForTat as TitForTat
from .matrix_game import gtalign_game as gtalign_game
from .matrix_game import play_repeated as play_repeated
from .matrix_game import prisoners_dilemma as prisoners_dilemma
