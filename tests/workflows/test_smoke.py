from models.partner import EnrollmentRequest, PartnerStatus
from models.program import ProgramSettings, Tier
from tests.helpers import Program
from workers.demo_data import GOOD


async def test_enroll_smoke(env, db, programs):
    program = Program(db, env, ProgramSettings()).create()
    team = await program.add_reseller("team-a", GOOD)
    state = await programs.enroll(program.provider_id, team, EnrollmentRequest(tier=Tier.SILVER))
    assert state.status is PartnerStatus.PREFERRED
    assert program.preferred_offer in program.visible_offers(team)
